package httpapi

import (
	_ "embed"
	"net/http"
)

// openAPI is the OpenAPI 3.1 description of the API, written by hand beside
// the code and checked by openapi_test.go: every route the server serves is
// described, every described route answers, every example validates.
//
//go:embed openapi/openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI 3.1 description of the API.
func OpenAPI() []byte { return openAPI }

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	writeBody(w, http.StatusOK, "application/json", openAPI)
}
