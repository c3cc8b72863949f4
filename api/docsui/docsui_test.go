package docsui

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The embedded Swagger UI files are byte for byte those of swagger-ui-dist
// 5.35.0 from npm, as swagger-ui/README.md records them: a changed or
// replaced file fails here until its provenance is written down.
func TestEmbeddedFiles(t *testing.T) {
	want := map[string]struct {
		size   int
		sha256 string
	}{
		"swagger-ui-bundle.js":             {1732839, "e6a898692f2d768e807c3ba4626068a69a2c5dd960dd6c76f3e4d3a3de180af2"},
		"swagger-ui.css":                   {187956, "5ed08757e53da3e026d6cbecc61fe5d43585c9560b302d534ad56692519a273d"},
		"LICENSE":                          {11358, "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"},
		"NOTICE":                           {55, "0d20d1adef18aee3f40dd258172155521ce702ac445cb5f7b7d60ed32dad2fb2"},
		"swagger-ui-bundle.js.LICENSE.txt": {4606, "37eb6e7e59aed57b2c1acf076574b818ea07b74265717e0bd67b59e0baf9abbb"},
	}
	readme, err := os.ReadFile("swagger-ui/README.md")
	if err != nil {
		t.Fatal(err)
	}
	for name, w := range want {
		f, ok := files[name]
		if !ok {
			t.Errorf("%s is not served", name)
			continue
		}
		sum := sha256.Sum256(f.body)
		if got := hex.EncodeToString(sum[:]); got != w.sha256 || len(f.body) != w.size {
			t.Errorf("%s: %d bytes, sha256 %s; want %d, %s", name, len(f.body), got, w.size, w.sha256)
		}
		row := "| `" + name + "` | " + strconv.Itoa(w.size) + " | `" + w.sha256 + "` |"
		if !strings.Contains(string(readme), row) {
			t.Errorf("swagger-ui/README.md has no row %s", row)
		}
	}
}

// A browser that has the files asks again with their ETag and is answered
// 304 with no body, not 1.9 MB again; a changed file has another ETag.
func TestRevalidation(t *testing.T) {
	mux := http.NewServeMux()
	Register(mux, "Test", "/openapi.json")
	get := func(path, etag string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		if etag != "" {
			r.Header.Set("If-None-Match", etag)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w
	}
	first := get("/docs/swagger-ui-bundle.js", "")
	etag := first.Header().Get("ETag")
	if first.Code != 200 || first.Body.Len() != len(bundleJS) || etag == "" || first.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("first: %d, %d bytes, ETag %q, Cache-Control %q", first.Code, first.Body.Len(), etag, first.Header().Get("Cache-Control"))
	}
	if again := get("/docs/swagger-ui-bundle.js", etag); again.Code != http.StatusNotModified || again.Body.Len() != 0 {
		t.Fatalf("again with the ETag: %d, %d bytes; want 304 and none", again.Code, again.Body.Len())
	}
	if other := get("/docs/swagger-ui.css", etag); other.Code != 200 {
		t.Fatalf("another file with the bundle's ETag: %d, want 200", other.Code)
	}
}
