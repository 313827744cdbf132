package console_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/console"
)

// TestCatalogsHoldEveryStringTheScriptUses keeps the two catalogs whole:
// the same keys in English and French, none empty, and every key the
// script names (t('...') and the prefixes it completes) in them.
func TestCatalogsHoldEveryStringTheScriptUses(t *testing.T) {
	en, err := console.Catalog("en")
	require.NoError(t, err)
	fr, err := console.Catalog("fr")
	require.NoError(t, err)
	for k, v := range en {
		if fr[k] == "" {
			t.Errorf("fr.json lacks %q", k)
		}
		if strings.TrimSpace(v) == "" {
			t.Errorf("en.json: %q is empty", k)
		}
	}
	for k := range fr {
		if en[k] == "" {
			t.Errorf("en.json lacks %q", k)
		}
	}
	script, err := os.ReadFile("static/app.js")
	require.NoError(t, err)
	used := regexp.MustCompile(`\bt\('([a-zA-Z-]+\.[a-zA-Z.-]*[a-zA-Z-])'`).FindAllSubmatch(script, -1)
	require.Greater(t, len(used), 100)
	for _, m := range used {
		if en[string(m[1])] == "" {
			t.Errorf("app.js uses %q, which en.json lacks", m[1])
		}
	}
	// Keys completed at run time: each value the API gives has its string.
	for prefix, values := range map[string][]string{
		"channel.":   {"direct", "partner", "nce", "self_service", "marketplace"},
		"state.":     {"active", "grace", "suspended", "canceled"},
		"status.":    {"pending", "approved", "partially_approved", "denied", "expired"},
		"selection.": {"all", "some", "none"},
		"role.":      {"GlobalAdministrator", "LicenseAdministrator", "UserAdministrator", "GlobalReader", "DirectoryWriters", "AdminAgent", "HelpdeskAgent", "SalesAgent", "UserManagementAdmin"},
		"nav.":       {"licenses", "products", "users", "groups", "requests", "my-requests", "audit", "partners"},
		"subject.":   {"user", "product", "subscription", "request", "group"},
		"report.":    {"seats", "activity", "guests", "requests"},
	} {
		for _, v := range values {
			if en[prefix+v] == "" {
				t.Errorf("en.json lacks %q", prefix+v)
			}
		}
	}
	assert.NotEqual(t, en["nav.licenses"], fr["nav.licenses"], "French is French")
}

func TestLangFollowsAcceptLanguage(t *testing.T) {
	for header, want := range map[string]string{
		"":                              "en",
		"fr-FR,fr;q=0.9,en;q=0.8":       "fr",
		"fr-CA":                         "fr",
		"en-GB,en;q=0.9":                "en",
		"de-DE,fr;q=0.5":                "fr",
		"de-DE":                         "en",
		"en;q=0.3,fr;q=0.7":             "fr",
		"not a header at all;;;q=zz,,,": "en",
	} {
		assert.Equal(t, want, console.Lang(header), "Accept-Language: %q", header)
	}
}

func TestHandlerServesThePageInTheReadersLanguageWithItsOwnOriginOnly(t *testing.T) {
	srv := httptest.NewServer(console.Handler())
	defer srv.Close()
	get := func(path, lang string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if lang != "" {
			req.Header.Set("Accept-Language", lang)
		}
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	resp, body := get("/", "fr-FR,fr;q=0.9")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, `<html lang="fr"`)
	assert.Contains(t, body, "console d’administration")
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "script-src 'self'")
	assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	_, body = get("/", "en-US")
	assert.Contains(t, body, `<html lang="en"`)
	for _, asset := range []string{"/console/app.js", "/console/app.css", "/console/i18n/en.json", "/console/i18n/fr.json"} {
		resp, body := get(asset, "")
		assert.Equal(t, http.StatusOK, resp.StatusCode, asset)
		assert.NotEmpty(t, body, asset)
	}
	resp, _ = get("/console/", "")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "no listing")
	resp, _ = get("/console/nope.js", "")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	// Nothing is loaded from elsewhere at run time.
	for _, f := range []string{"static/index.html", "static/app.js", "static/app.css"} {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range regexp.MustCompile(`(?:src|href)=["']?(https?:)?//`).FindAllString(string(data), -1) {
			t.Errorf("%s loads %s from another origin", f, m)
		}
		assert.False(t, slices.Contains(strings.Fields(string(data)), "eval("), f)
	}
}
