// Package console is the admin console (U1): a small client app, with no
// library and nothing to build, embedded in ledgerd and served at / beside
// the API it calls. The server part only serves the files: the page in the
// reader's language (Accept-Language, English or French), the script, the
// stylesheet and one string catalog per language. Every datum the console
// shows comes from the JSON API, called with the bearer token the user signs
// in with, which the browser keeps in the tab's sessionStorage (docs/CONSOLE.md).
package console

import (
	"bytes"
	"embed"
	"encoding/json"
	"html/template"
	"io/fs"
	"net/http"
	"strings"

	"golang.org/x/text/language"
)

//go:embed static
var files embed.FS

// Languages are the languages of the console, the first the default.
var Languages = []string{"en", "fr"}

var matcher = language.NewMatcher([]language.Tag{language.English, language.French})

// Catalog returns the strings of a language, by key.
func Catalog(lang string) (map[string]string, error) {
	data, err := files.ReadFile("static/i18n/" + lang + ".json")
	if err != nil {
		return nil, err
	}
	var m map[string]string
	return m, json.Unmarshal(data, &m)
}

// Lang chooses the console's language from an Accept-Language header.
func Lang(acceptLanguage string) string {
	tags, _, _ := language.ParseAcceptLanguage(acceptLanguage)
	_, i, conf := matcher.Match(tags...)
	if conf == language.No {
		return Languages[0]
	}
	return Languages[i]
}

// Handler serves the console: GET / and GET /console/....
func Handler() http.Handler {
	page := template.Must(template.ParseFS(files, "static/index.html"))
	pages := map[string][]byte{}
	for _, lang := range Languages {
		cat, err := Catalog(lang)
		if err != nil {
			panic(err)
		}
		var b bytes.Buffer
		if err := page.Execute(&b, map[string]string{"Lang": lang, "Title": cat["app.title"], "NoScript": cat["app.noscript"]}); err != nil {
			panic(err)
		}
		pages[lang] = b.Bytes()
	}
	static, _ := fs.Sub(files, "static")
	assets := http.StripPrefix("/console/", http.FileServerFS(static))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secure(w.Header())
		if r.URL.Path == "/" {
			lang := Lang(r.Header.Get("Accept-Language"))
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Language", lang)
			w.Header().Set("Vary", "Accept-Language")
			w.Header().Set("Cache-Control", "no-cache")
			_, _ = w.Write(pages[lang])
			return
		}
		if strings.HasSuffix(r.URL.Path, "/") || r.URL.Path == "/console/index.html" {
			http.NotFound(w, r) // no directory listings; the page is at /
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		assets.ServeHTTP(w, r)
	})
}

// secure sets the headers that keep the console's page to itself: scripts,
// styles and API calls from this origin only, no framing, no referrer.
func secure(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' blob: data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}
