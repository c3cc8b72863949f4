package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"

	"github.com/danielgtaylor/huma/v2/yaml"
)

// The OpenAPI 3.0 form (/openapi-3.0.json and .yaml, for tools that read
// only 3.0) is huma's downgrade of the 3.1 document, with the keywords
// that 3.0 does not have turned into extensions, so that strict 3.0
// validators accept it: huma's patternDescription, and JSON Schema
// 2020-12's if/then (the card_number rule), which 3.0 tools could not
// evaluate anyway.
var renamed30 = map[string]string{"patternDescription": "x-pattern-description", "if": "x-if", "then": "x-then"}

// OpenAPI30 returns the document's OpenAPI 3.0 form, as JSON.
func (s *Server) OpenAPI30() ([]byte, error) {
	c := &s.spec30
	c.once.Do(func() {
		var b []byte
		if b, c.err = s.api.OpenAPI().Downgrade(); c.err != nil {
			return
		}
		var doc any
		if c.err = json.Unmarshal(b, &doc); c.err != nil {
			return
		}
		rename30(doc, false)
		c.json, c.err = json.Marshal(doc)
	})
	return c.json, c.err
}

// rename30 renames the keywords in the schemas of v; inSchemaNames is set
// where the keys are names (of properties, components), not keywords.
func rename30(v any, inSchemaNames bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, sub := range v {
			if to, ok := renamed30[k]; ok && !inSchemaNames {
				delete(v, k)
				v[to] = sub
			}
			rename30(sub, k == "properties" || k == "schemas")
		}
	case []any:
		for _, sub := range v {
			rename30(sub, false)
		}
	}
}

// serveOpenAPI30 answers the 3.0 form's paths; false for any other request.
func (s *Server) serveOpenAPI30(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet || (r.URL.Path != "/openapi-3.0.json" && r.URL.Path != "/openapi-3.0.yaml") {
		return false
	}
	b, err := s.OpenAPI30()
	if err == nil && r.URL.Path == "/openapi-3.0.yaml" {
		var buf bytes.Buffer
		err = yaml.Convert(&buf, bytes.NewReader(b))
		b = buf.Bytes()
		w.Header().Set("Content-Type", "application/openapi+yaml")
	} else {
		w.Header().Set("Content-Type", "application/openapi+json")
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "openapi 3.0 form", "err", err)
		writeProblem(w, http.StatusInternalServerError, "internal error")
		return true
	}
	_, _ = w.Write(b)
	return true
}

// spec30 is the 3.0 form, made once.
type spec30 struct {
	once sync.Once
	json []byte
	err  error
}
