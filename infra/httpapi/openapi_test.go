package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/infra/httpapi"
)

type openAPIDoc struct {
	OpenAPI    string                               `json:"openapi"`
	Paths      map[string]map[string]map[string]any `json:"paths"`
	Components struct {
		Schemas map[string]any `json:"schemas"`
	} `json:"components"`
}

func loadOpenAPI(t *testing.T, a *adminAPI) openAPIDoc {
	t.Helper()
	resp, err := http.Get(a.url + "/v1/openapi.json") // no token: the description is public
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var doc openAPIDoc
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
	require.Equal(t, "3.1.0", doc.OpenAPI)
	return doc
}

// servedRoutes reads the routes the server registers from its source.
func servedRoutes(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	re := regexp.MustCompile(`mux\.HandleFunc\("((?:GET|POST) /[^"]*)"`)
	var routes []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			routes = append(routes, m[1])
		}
	}
	require.Greater(t, len(routes), 20)
	return routes
}

func TestOpenAPIDescribesEveryRouteTheServerServes(t *testing.T) {
	doc := loadOpenAPI(t, newAdminAPI(t))
	for _, route := range servedRoutes(t) {
		method, path, _ := strings.Cut(route, " ")
		if path == "/v1/tenants/{tenant}/commands/{command}" {
			for _, name := range domain.Commands() {
				assert.Contains(t, doc.Paths, path[:len(path)-len("{command}")]+name, "command %s is not described", name)
			}
			continue
		}
		ops, ok := doc.Paths[path]
		if assert.True(t, ok, "%s is served, not described", route) {
			assert.Contains(t, ops, strings.ToLower(method), route)
		}
	}
	// Every error code is described.
	codes := doc.Components.Schemas["Problem"].(map[string]any)["properties"].(map[string]any)["code"].(map[string]any)["enum"].([]any)
	for _, c := range []domain.Code{domain.CodeValidationFailed, domain.CodeUnauthorized, domain.CodeForbidden, domain.CodeNotFound, domain.CodeConflict, domain.CodeCountViolation, domain.CodeMutuallyExclusive, domain.CodeDependency, domain.CodeProhibitedUsageLocation, domain.CodePayloadTooLarge, domain.CodeUnavailable, domain.CodeInternal} {
		assert.Contains(t, codes, string(c))
	}
}

// TestEveryDescribedRouteAnswers calls every described route on the real
// API over a small tenant: each GET answers 200 with a body that validates
// against its described answer, each command route reaches its command.
func TestEveryDescribedRouteAnswers(t *testing.T) {
	a := newAdminAPI(t)
	registered := a.cmd(adminToken, "RegisterUser", `{"userId":"alice","displayName":"Alice","email":"alice@contoso.com","usageLocation":"US"}`)
	first := registered["events"].([]any)[0].(map[string]any)["id"].(string)
	a.cmd(adminToken, "CreateGroup", `{"groupId":"sales","name":"Sales"}`)
	a.cmd(adminToken, "PurchaseSubscription", `{"subscriptionId":"sub-1","productId":"SPB","seats":5}`)
	a.cmd(aliceToken, "RequestLicense", `{"productId":"VISIOCLIENT","message":"floor plans"}`)
	doc := loadOpenAPI(t, a)
	fill := strings.NewReplacer("{tenant}", "contoso", "{user}", "alice", "{group}", "sales", "{product}", "SPB", "{report}", "seats")
	queries := map[string]string{"/licenses/selection": "?users=alice", "/history": "?user=alice",
		"/proofs/inclusion": "?event=" + first, "/proofs/consistency": "?from=1&to=2"}
	// The queries first: the command examples then remove alice and more.
	for path, ops := range doc.Paths {
		if op, ok := ops["get"]; ok {
			url := fill.Replace(path) + queries[strings.TrimPrefix(path, "/v1/tenants/{tenant}")]
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, a.url+url, nil)
			req.Header.Set("Authorization", "Bearer "+adminToken)
			resp, err := a.c.Do(req)
			require.NoError(t, err, url)
			if !assert.Equal(t, http.StatusOK, resp.StatusCode, "GET %s", url) {
				body, _ := io.ReadAll(resp.Body)
				t.Logf("%s", body)
			} else if schema := answerSchema(op); schema != nil {
				var body any
				require.NoError(t, json.NewDecoder(resp.Body).Decode(&body), url)
				for _, e := range validate(doc, schema, body, "answer") {
					t.Errorf("GET %s: %s", url, e)
				}
			}
			resp.Body.Close()
			cancel()
		}
	}
	for path, ops := range doc.Paths {
		if _, ok := ops["post"]; ok {
			name := path[strings.LastIndex(path, "/")+1:]
			status, p := a.do(http.MethodPost, adminToken, fill.Replace(path), httpapi.CommandExample(name))
			if status != http.StatusOK {
				assert.NotContains(t, fmt.Sprint(p["detail"]), "no route", "POST %s", path)
				assert.NotEqual(t, "ValidationFailed", p["code"], "POST %s with its example: %v", path, p)
			}
		}
	}
}

// TestOpenAPIExamplesValidate checks each command's example against its
// described schema and against the protobuf decoder the API uses.
func TestOpenAPIExamplesValidate(t *testing.T) {
	doc := loadOpenAPI(t, newAdminAPI(t))
	for _, name := range domain.Commands() {
		op := doc.Paths["/v1/tenants/{tenant}/commands/"+name]["post"]
		content := op["requestBody"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)
		example := content["examples"].(map[string]any)["example"].(map[string]any)["value"]
		require.NotNil(t, example, name)
		for _, e := range validate(doc, content["schema"], example, name) {
			t.Errorf("the example of %s: %s", name, e)
		}
		msg, _ := domain.NewCommand(name)
		assert.NoError(t, httpapi.DecodeCommand([]byte(httpapi.CommandExample(name)), msg), name)
		// The validator itself refuses what the decoder refuses.
		assert.NotEmpty(t, validate(doc, content["schema"], map[string]any{"noSuchField": 1}, name), name)
	}
}

func answerSchema(op map[string]any) any {
	ok, _ := op["responses"].(map[string]any)["200"].(map[string]any)
	content, _ := ok["content"].(map[string]any)
	js, _ := content["application/json"].(map[string]any)
	return js["schema"]
}

// validate checks v against the subset of JSON Schema the description
// uses: $ref, type, properties, additionalProperties: false, items, enum.
func validate(doc openAPIDoc, schema, v any, at string) []string {
	s, _ := schema.(map[string]any)
	if ref, ok := s["$ref"].(string); ok {
		return validate(doc, doc.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")], v, at)
	}
	var errs []string
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, v) {
		errs = append(errs, fmt.Sprintf("%s: %v is not one of %v", at, v, enum))
	}
	switch s["type"] {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return append(errs, fmt.Sprintf("%s: %T is not an object", at, v))
		}
		props, _ := s["properties"].(map[string]any)
		for k, pv := range m {
			ps, known := props[k]
			if !known {
				if s["additionalProperties"] == false {
					errs = append(errs, fmt.Sprintf("%s: unknown property %q", at, k))
				}
				continue
			}
			errs = append(errs, validate(doc, ps, pv, at+"."+k)...)
		}
	case "array":
		l, ok := v.([]any)
		if !ok && v != nil {
			return append(errs, fmt.Sprintf("%s: %T is not an array", at, v))
		}
		for i, x := range l {
			errs = append(errs, validate(doc, s["items"], x, fmt.Sprintf("%s[%d]", at, i))...)
		}
	case "string":
		if _, ok := v.(string); !ok {
			errs = append(errs, fmt.Sprintf("%s: %T is not a string", at, v))
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			errs = append(errs, fmt.Sprintf("%s: %T is not a boolean", at, v))
		}
	case "integer":
		if f, ok := v.(float64); !ok || f != math.Trunc(f) {
			errs = append(errs, fmt.Sprintf("%s: %v is not an integer", at, v))
		}
	}
	return errs
}
