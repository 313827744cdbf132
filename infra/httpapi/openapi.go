package httpapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/licensing-ledger/ledger/domain"
)

// The OpenAPI 3.1 description of the API, served at GET /v1/openapi.json.
// Command bodies are described from the protobuf messages themselves, so a
// field added to a command is described the day it is added; queries are
// described from the table below. openapi_test.go checks that every route
// the server serves is described, that every described route answers with
// a body its schema accepts, and that every example validates and decodes.

// commandExamples are example bodies of the commands (those of docs/API.md).
var commandExamples = map[string]string{
	"RegisterUser":            `{"userId":"alice","displayName":"Alice","email":"alice@contoso.com","usageLocation":"US","guest":false}`,
	"UpdateUser":              `{"userId":"alice","usageLocation":"FR"}`,
	"RemoveUser":              `{"userId":"alice"}`,
	"CreateGroup":             `{"groupId":"sales","name":"Sales"}`,
	"AddGroupMembers":         `{"groupId":"sales","userIds":["alice","bob"]}`,
	"RemoveGroupMembers":      `{"groupId":"sales","userIds":["bob"]}`,
	"GrantPartnerDelegation":  `{"partnerId":"fabrikam","roles":["LicenseAdministrator","DirectoryWriters","AdminAgent"],"durationDays":365}`,
	"RevokePartnerDelegation": `{"partnerId":"fabrikam"}`,
	"PurchaseSubscription":    `{"subscriptionId":"sub-1","productId":"SPB","seats":5,"channel":"CHANNEL_PARTNER"}`,
	"ChangeSeats":             `{"subscriptionId":"sub-1","seats":10}`,
	"ChangeSubscriptionState": `{"subscriptionId":"sub-1","state":"SUBSCRIPTION_STATE_GRACE"}`,
	"TakeOverSubscription":    `{"subscriptionId":"sub-9"}`,
	"AssignLicense":           `{"productId":"SPB","userIds":["alice","bob"],"disabledPlans":["SWAY"]}`,
	"RevokeAssignment":        `{"productId":"SPB","userIds":["bob"]}`,
	"ChangeAssignmentPlans":   `{"productId":"SPB","userId":"alice","disabledPlans":[]}`,
	"UnassignAll":             `{"userIds":["alice","bob"]}`,
	"AssignGroupLicense":      `{"groupId":"sales","productId":"POWER_BI_PRO"}`,
	"RevokeGroupLicense":      `{"groupId":"sales","productId":"POWER_BI_PRO"}`,
	"ReprocessGroupLicenses":  `{"groupId":"sales"}`,
	"RequestLicense":          `{"productId":"VISIOCLIENT","userIds":["bob"],"message":"for the new plans"}`,
	"ApproveRequest":          `{"requestId":"01M7ZRF4PPY8M19717S46C4B3B","approvedUserIds":["alice"],"productId":"VISIOCLIENT","disabledPlans":[],"groupId":"","message":"approved"}`,
	"DenyRequest":             `{"requestId":"01M7ZRF4PPY8M19717S46C4B3B","message":"not this quarter"}`,
	"ShareRequest":            `{"requestId":"01M7ZRF4PPY8M19717S46C4B3B","recipients":["cfo@contoso.com"],"subject":"Visio request","message":"please decide"}`,
	"ConfigureRequestProcess": `{"enabled":true,"message":"Use the IT portal","link":"https://it.contoso.com/licenses"}`,
	"SetSelfServicePolicy":    `{"productId":"VISIOCLIENT","allowed":true}`,
	"ExpireRequests":          `{}`,
}

// CommandExample returns the example body of a command in the description.
func CommandExample(name string) string { return commandExamples[name] }

// queryRoute describes one GET route.
type queryRoute struct {
	path, summary, who string
	params             []string // query parameters: name, or name=description
	answer             map[string]any
	public             bool
}

func obj(props map[string]any) map[string]any {
	return map[string]any{"type": "object", "properties": props}
}

func arr(items any) map[string]any { return map[string]any{"type": "array", "items": items} }

var (
	str     = map[string]any{"type": "string"}
	integer = map[string]any{"type": "integer"}
	boolean = map[string]any{"type": "boolean"}
	strs    = arr(str)
	when    = map[string]any{"type": "string", "format": "date-time"}
	person  = obj(map[string]any{"userId": str, "displayName": str})
)

func pagedSchema(name string, item any) map[string]any {
	return obj(map[string]any{"tenant": str, name: arr(item), "nextCursor": map[string]any{"type": "string", "description": "the cursor of the next page; absent on the last"}})
}

var pageParams = []string{"cursor=the nextCursor of the previous page", "limit=1 to 200 (50)"}

var queryRoutes = []queryRoute{
	{path: "/healthz", summary: "Liveness, and how far the read models are", who: "anyone", public: true, answer: obj(map[string]any{"status": str, "position": integer})},
	{path: "/readyz", summary: "Readiness: 200 when the store takes appends, the read models are current and no tenant's history is damaged; otherwise 503 problem+json naming each failing check", who: "anyone", public: true, answer: obj(map[string]any{"status": str, "checks": arr(obj(map[string]any{"name": str, "ok": boolean, "code": str, "detail": str}))})},
	{path: "/v1/openapi.json", summary: "This description", who: "anyone", public: true, answer: map[string]any{"type": "object"}},
	{path: "/v1/checkpoint-key", summary: "The verifier key of the ledger's signed checkpoints (text/plain, a C2SP signed-note key) (L8)", who: "anyone", public: true},
	{path: "/v1/tenants/{tenant}/checkpoint", summary: "The tenant's latest signed checkpoint (text/plain, a C2SP tlog-checkpoint signed note), covering every event stored when asked (L8)", who: "GlobalAdministrator, GlobalReader"},
	{path: "/v1/tenants/{tenant}/proofs/inclusion", summary: "The proof that one event is in the tenant's tree of a size (RFC 6962), with the event's bytes (L8)", who: "GlobalAdministrator, GlobalReader", params: []string{"event=the event id", "size=the tree size (the latest checkpoint's)"}, answer: map[string]any{"type": "object"}},
	{path: "/v1/tenants/{tenant}/proofs/consistency", summary: "The proof that the tenant's tree of size to extends its tree of size from (RFC 6962) (L8)", who: "GlobalAdministrator, GlobalReader", params: []string{"from=the smaller tree size", "to=the larger tree size"}, answer: obj(map[string]any{"tenant": str, "from": integer, "to": integer, "hashes": arr(str)})},
	{path: "/v1/me", summary: "Who the bearer token is", who: "any principal", answer: obj(map[string]any{"id": str, "tenant": str, "partner": str, "roles": strs})},
	{path: "/v1/tenants/{tenant}/permissions", summary: "The commands and queries the caller may send in the tenant", who: "any principal with some access to the tenant", answer: obj(map[string]any{"tenant": str, "principal": str, "actions": strs})},
	{path: "/v1/tenants/{tenant}/licenses", summary: "The Licenses page: seats per product over its subscriptions (S2)", who: "license readers", answer: obj(map[string]any{"tenant": str, "products": arr(obj(map[string]any{"productId": str, "name": str, "total": integer, "assigned": integer, "available": integer, "subscriptions": arr(map[string]any{"$ref": "#/components/schemas/Subscription"})}))})},
	{path: "/v1/tenants/{tenant}/licenses/selection", summary: "Per product, whether all, some or none of 1 to 20 users hold it (A7); users sorted", who: "license readers", params: []string{"users=user ids separated by commas"}, answer: obj(map[string]any{"tenant": str, "users": strs, "products": arr(obj(map[string]any{"productId": str, "name": str, "status": map[string]any{"enum": []string{"all", "some", "none"}}, "holders": strs, "available": integer}))})},
	{path: "/v1/tenants/{tenant}/licenses/{product}/users", summary: "A product's users, directly or through groups, with the plans off", who: "license readers", params: pageParams, answer: pagedSchema("users", obj(map[string]any{"userId": str, "displayName": str, "direct": boolean, "groups": strs, "disabledPlans": strs}))},
	{path: "/v1/tenants/{tenant}/subscriptions", summary: "The Products page: one row per subscription", who: "license readers", answer: obj(map[string]any{"tenant": str, "subscriptions": arr(map[string]any{"$ref": "#/components/schemas/Subscription"})})},
	{path: "/v1/tenants/{tenant}/requests", summary: "Requests of the last 12 months, newest first, with the product's name and people's display names", who: "license readers", params: []string{"status=pending or completed"}, answer: obj(map[string]any{"tenant": str, "requests": arr(map[string]any{"$ref": "#/components/schemas/Request"})})},
	{path: "/v1/tenants/{tenant}/my/requests", summary: "The requests the caller made or is named in", who: "any user of the tenant", answer: obj(map[string]any{"tenant": str, "requests": arr(map[string]any{"$ref": "#/components/schemas/Request"})})},
	{path: "/v1/tenants/{tenant}/request-process", summary: "The organization's own request process (Q4)", who: "any user of the tenant, license readers", answer: obj(map[string]any{"tenant": str, "enabled": boolean, "message": str, "link": str})},
	{path: "/v1/tenants/{tenant}/users", summary: "The directory, searched by id, name or email, a page at a time", who: "license readers", params: append([]string{"search=text in the id, display name or email (any case)"}, pageParams...), answer: pagedSchema("users", map[string]any{"$ref": "#/components/schemas/User"})},
	{path: "/v1/tenants/{tenant}/users/{user}", summary: "One user of the directory", who: "license readers, or the user", answer: map[string]any{"$ref": "#/components/schemas/User"}},
	{path: "/v1/tenants/{tenant}/users/{user}/licenses", summary: "A user's licenses, direct and inherited, plans on and off, and group license errors", who: "license readers, or the user", answer: obj(map[string]any{"userId": str, "guest": boolean, "licenses": arr(obj(map[string]any{"productId": str, "name": str, "direct": boolean, "groups": strs, "enabledPlans": strs, "disabledPlans": strs})), "errors": arr(obj(map[string]any{"groupId": str, "productId": str, "code": str, "detail": str}))})},
	{path: "/v1/tenants/{tenant}/groups", summary: "Groups, searched by id or name, a page at a time", who: "license readers", params: append([]string{"search=text in the id or name (any case)"}, pageParams...), answer: pagedSchema("groups", map[string]any{"$ref": "#/components/schemas/Group"})},
	{path: "/v1/tenants/{tenant}/groups/{group}", summary: "One group, its products and how many members are in error", who: "license readers", answer: map[string]any{"$ref": "#/components/schemas/Group"}},
	{path: "/v1/tenants/{tenant}/groups/{group}/members", summary: "A group's members with their display names", who: "license readers", params: pageParams, answer: pagedSchema("members", person)},
	{path: "/v1/tenants/{tenant}/groups/{group}/errors", summary: "A group's members in error, with the reasons (A6)", who: "license readers", params: pageParams, answer: pagedSchema("errors", obj(map[string]any{"userId": str, "displayName": str, "productId": str, "productName": str, "code": str, "detail": str}))},
	{path: "/v1/tenants/{tenant}/catalog", summary: "Products with their service plans, publishers, exclusive and dependent plans (C1)", who: "any user of the tenant, license readers", params: append([]string{"search=text in the id, name or publisher"}, pageParams...), answer: pagedSchema("products", obj(map[string]any{"id": str, "name": str, "publisher": str, "isv": boolean, "assignable": boolean, "servicePlans": strs, "allowedCountries": strs, "plans": arr(obj(map[string]any{"id": str, "name": str, "exclusiveWith": strs, "requires": strs}))}))},
	{path: "/v1/tenants/{tenant}/partners", summary: "The partners' relationships with the tenant: roles granted, when, and for GDAP when they end (T3)", who: "GlobalAdministrator, LicenseAdministrator, UserAdministrator, GlobalReader", answer: obj(map[string]any{"tenant": str, "partners": arr(obj(map[string]any{"partnerId": str, "roles": strs, "grantedAt": when, "expiresAt": when, "active": boolean}))})},
	{path: "/v1/tenants/{tenant}/changes", summary: "Server-sent events: one `change` event ({sequence,type}) per ledger event once the read models hold it", who: "any user of the tenant, license readers"},
	{path: "/v1/tenants/{tenant}/events", summary: "The tenant's events as stored, as NDJSON, to verify offline (L3)", who: "GlobalAdministrator, GlobalReader"},
	{path: "/v1/tenants/{tenant}/state", summary: "The tenant as of an instant, rebuilt from the events, the chain checked (L3)", who: "auditors", params: []string{"asOf=RFC 3339 instant (now)"}, answer: obj(map[string]any{"tenant": str, "asOf": when, "sequence": integer, "head": str})},
	{path: "/v1/tenants/{tenant}/history", summary: "Every change of one subject, in order (L3)", who: "auditors; users: their own", params: []string{"user", "product", "subscription", "request", "group", "from=RFC 3339", "to=RFC 3339"}, answer: obj(map[string]any{"tenant": str, "subject": map[string]any{"type": "object"}, "entries": arr(obj(map[string]any{"sequence": integer, "id": str, "time": when, "type": str, "actor": str, "command": str, "commandId": str, "correlationId": str, "cause": str, "data": map[string]any{}}))})},
	{path: "/v1/tenants/{tenant}/reports/{report}", summary: "Compliance reports: seats, activity, guests, requests (L4)", who: "auditors", params: []string{"from=RFC 3339", "to=RFC 3339", "format=json or csv"}, answer: map[string]any{"type": "object"}},
}

// commandSchema describes a command message from its protobuf descriptor,
// in the protobuf JSON mapping the API reads.
func commandSchema(md protoreflect.MessageDescriptor) map[string]any {
	props := map[string]any{}
	fields := md.Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		props[f.JSONName()] = fieldSchema(f)
	}
	return map[string]any{"type": "object", "properties": props, "additionalProperties": false}
}

func fieldSchema(f protoreflect.FieldDescriptor) map[string]any {
	var s map[string]any
	switch f.Kind() {
	case protoreflect.StringKind:
		s = map[string]any{"type": "string"}
	case protoreflect.BoolKind:
		s = map[string]any{"type": "boolean"}
	case protoreflect.Int32Kind, protoreflect.Int64Kind, protoreflect.Uint32Kind, protoreflect.Uint64Kind, protoreflect.Sint32Kind, protoreflect.Sint64Kind:
		s = map[string]any{"type": "integer"}
	case protoreflect.EnumKind:
		var names []string
		vals := f.Enum().Values()
		for i := range vals.Len() {
			names = append(names, string(vals.Get(i).Name()))
		}
		s = map[string]any{"type": "string", "enum": names}
	case protoreflect.MessageKind:
		s = commandSchema(f.Message())
	default:
		s = map[string]any{}
	}
	if f.IsList() {
		return map[string]any{"type": "array", "items": s}
	}
	return s
}

func problemResponse(desc string) map[string]any {
	return map[string]any{"description": desc, "content": map[string]any{"application/problem+json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}}}
}

// buildOpenAPI assembles the description.
func buildOpenAPI() map[string]any {
	paths := map[string]any{}
	tenant := map[string]any{"name": "tenant", "in": "path", "required": true, "schema": str}
	refusals := func() map[string]any {
		return map[string]any{
			"400": problemResponse("ValidationFailed"), "401": problemResponse("Unauthorized"), "403": problemResponse("Forbidden"),
			"404": problemResponse("NotFound"), "503": problemResponse("Unavailable"), "500": problemResponse("Internal"),
		}
	}
	for _, q := range queryRoutes {
		var params []any
		for _, name := range []string{"tenant", "user", "group", "product", "report"} {
			if strings.Contains(q.path, "{"+name+"}") {
				params = append(params, map[string]any{"name": name, "in": "path", "required": true, "schema": str})
			}
		}
		for _, p := range q.params {
			name, desc, _ := strings.Cut(p, "=")
			params = append(params, map[string]any{"name": name, "in": "query", "required": name == "users", "schema": str, "description": desc})
		}
		ok := map[string]any{"description": "OK"}
		switch {
		case q.answer != nil:
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": q.answer}}
		case strings.HasSuffix(q.path, "/changes"):
			ok["content"] = map[string]any{"text/event-stream": map[string]any{"schema": str}}
		default:
			ok["content"] = map[string]any{"application/x-ndjson": map[string]any{"schema": str}}
		}
		responses := refusals()
		responses["200"] = ok
		op := map[string]any{"summary": q.summary, "description": "Who: " + q.who + ".", "responses": responses, "operationId": operationID(q.path)}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if q.public {
			op["security"] = []any{}
			op["responses"] = map[string]any{"200": ok}
		}
		paths[q.path] = map[string]any{"get": op}
	}
	schemas := map[string]any{
		"Problem": obj(map[string]any{"type": str, "title": str, "status": integer, "code": map[string]any{"type": "string", "enum": sortedCodes()}, "detail": str,
			"violations": arr(obj(map[string]any{"subject": str, "code": str, "detail": str}))}),
		"CommandResponse": obj(map[string]any{"commandId": str, "replayed": boolean, "events": arr(obj(map[string]any{"id": str, "type": str, "sequence": integer, "data": map[string]any{"type": "object"}})),
			"notice": obj(map[string]any{"message": str, "link": str})}),
		"Subscription": obj(map[string]any{"subscriptionId": str, "productId": str, "seats": integer, "channel": str, "state": str, "selfServiceOwner": str}),
		"Request": obj(map[string]any{"requestId": str, "productId": str, "productName": str, "requesterId": str, "userIds": strs, "message": str, "requestedAt": when,
			"status": map[string]any{"enum": []string{"pending", "approved", "partially_approved", "denied", "expired"}}, "decidedAt": when, "decidedBy": str,
			"assignedProductId": str, "approvedUserIds": strs, "rejectedUserIds": strs, "sharedWith": strs, "people": arr(person)}),
		"User":  obj(map[string]any{"userId": str, "displayName": str, "email": str, "usageLocation": str, "guest": boolean, "groups": strs}),
		"Group": obj(map[string]any{"groupId": str, "name": str, "memberCount": integer, "membersInError": integer, "products": arr(obj(map[string]any{"productId": str, "name": str, "disabledPlans": strs}))}),
	}
	for _, name := range domain.Commands() {
		msg, _ := domain.NewCommand(name)
		schemas[name] = commandSchema(msg.ProtoReflect().Descriptor())
		var example any
		_ = json.Unmarshal([]byte(commandExamples[name]), &example)
		responses := refusals()
		responses["200"] = map[string]any{"description": "The events appended", "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/CommandResponse"}}}}
		responses["409"] = problemResponse("Conflict, CountViolation, MutuallyExclusiveViolation, DependencyViolation, ProhibitedInUsageLocationViolation")
		responses["413"] = problemResponse("PayloadTooLarge")
		paths["/v1/tenants/{tenant}/commands/"+name] = map[string]any{"post": map[string]any{
			"operationId": name, "summary": name + " (" + strings.Join(domain.RolesFor(name), ", ") + ")",
			"parameters": []any{tenant,
				map[string]any{"name": "Idempotency-Key", "in": "header", "schema": str, "description": "a retry with the same key is applied once"},
				map[string]any{"name": "X-Correlation-Id", "in": "header", "schema": str}},
			"requestBody": map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{
				"schema": map[string]any{"$ref": "#/components/schemas/" + name}, "examples": map[string]any{"example": map[string]any{"value": example}}}}},
			"responses": responses,
		}}
	}
	codes := map[string]any{}
	for code, status := range statuses {
		codes[string(code)] = status
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Licensing ledger API", "version": "1",
			"description":   "Commands, queries and the admin API of the licensing ledger (docs/API.md). Every refusal is application/problem+json with a stable code; x-error-codes maps each code to its HTTP status.",
			"x-error-codes": codes},
		"servers":    []any{map[string]any{"url": "/"}},
		"security":   []any{map[string]any{"bearer": []any{}}},
		"paths":      paths,
		"components": map[string]any{"schemas": schemas, "securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}}},
	}
}

func sortedCodes() []string {
	var out []string
	for c := range statuses {
		out = append(out, string(c))
	}
	slices.Sort(out)
	return out
}

func operationID(path string) string {
	path = strings.TrimPrefix(path, "/v1/tenants/{tenant}")
	r := strings.NewReplacer("/", "_", "{", "", "}", "", ".", "_", "-", "_")
	return "get" + r.Replace(path)
}

var (
	openAPIOnce sync.Once
	openAPI     []byte
)

// OpenAPI returns the OpenAPI 3.1 description of the API.
func OpenAPI() []byte {
	openAPIOnce.Do(func() {
		b, err := json.Marshal(buildOpenAPI())
		if err != nil {
			panic(err)
		}
		openAPI = b
	})
	return openAPI
}

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	writeBody(w, http.StatusOK, "application/json", OpenAPI())
}
