package httpapi

import (
	_ "embed"
	"encoding/json"
)

// openAPISource is the API's OpenAPI 3.1 document, written by hand next to
// the handlers. TestOpenAPIMatchesRoutes holds it to the route table.
//
//go:embed openapi.json
var openAPISource []byte

// openAPIDocument returns the document with info.version set.
func openAPIDocument(version string) []byte {
	var doc map[string]any
	if err := json.Unmarshal(openAPISource, &doc); err != nil {
		panic("httpapi: openapi.json does not parse: " + err.Error()) // caught by every test
	}
	if info, ok := doc["info"].(map[string]any); ok {
		info["version"] = version
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic("httpapi: openapi: " + err.Error())
	}
	return b
}
