// Package docsui serves the API's documentation page, /docs: Swagger UI,
// whose script and stylesheet are embedded in the binary (swagger-ui/, with
// their licence; where they came from is in swagger-ui/README.md), so the
// page works with no internet and asks no other origin for anything. The
// page and its files are sent with a Content-Security-Policy that allows
// this origin only.
//
// Why Swagger UI, of the viewers huma offers: it is the one that runs
// under a strict policy. It needs no inline script, no eval and no
// 'unsafe-inline' for styles, since it styles the page with its stylesheet
// and with the DOM's style properties, which a policy does not restrict.
// Stoplight Elements (huma's default, 2.4 MB of script and styles) and
// Redoc (0.9 MB) both add <style> elements at run time, which only
// style-src 'unsafe-inline' lets through, and Redoc starts its search
// worker from a blob: URL and cannot send a request to try an operation.
// Swagger UI is 1.9 MB (script and stylesheet, before compression) and can.
package docsui

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"html/template"
	"net/http"
	"time"
)

// Path is the page's path; its files are served under Path + "/".
const Path = "/docs"

// CSP is the Content-Security-Policy of the page and of its files. Scripts,
// styles and requests may come from this origin only, and no inline script
// or style is allowed. Images may also be data: URLs (the stylesheet's
// icons are) and blob: URLs (an image answer shown by "Try it out", such as
// the authenticator QR code, is one). Nothing may frame the page, and it
// submits no form.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// The files, unchanged from the npm package, and ours.
var (
	//go:embed swagger-ui/swagger-ui-bundle.js
	bundleJS []byte
	//go:embed swagger-ui/swagger-ui.css
	bundleCSS []byte
	//go:embed swagger-ui/LICENSE
	license []byte
	//go:embed swagger-ui/NOTICE
	notice []byte
	//go:embed swagger-ui/swagger-ui-bundle.js.LICENSE.txt
	bundleLicenses []byte
	//go:embed docs.js
	docsJS []byte
	//go:embed docs.css
	docsCSS []byte
	//go:embed page.html
	pageHTML string
)

const (
	typeJS   = "text/javascript; charset=utf-8"
	typeCSS  = "text/css; charset=utf-8"
	typeText = "text/plain; charset=utf-8"
	typeHTML = "text/html; charset=utf-8"
)

// files are the page's files by name, under Path. The licences are served
// too: the bundle's first line points to its list of bundled licences by
// this relative name.
var files = map[string]file{
	"swagger-ui-bundle.js":             {bundleJS, typeJS},
	"swagger-ui.css":                   {bundleCSS, typeCSS},
	"LICENSE":                          {license, typeText},
	"NOTICE":                           {notice, typeText},
	"swagger-ui-bundle.js.LICENSE.txt": {bundleLicenses, typeText},
	"docs.js":                          {docsJS, typeJS},
	"docs.css":                         {docsCSS, typeCSS},
}

type file struct {
	body        []byte
	contentType string
}

var page = template.Must(template.New("page").Parse(pageHTML))

// Mux is where Register adds its routes: an *http.ServeMux, or the API's
// server (api.Server.Handle), which adds its common headers and request id.
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// Register serves the page, titled title and showing the OpenAPI document
// at specURL, at GET Path, and its files at GET Path/NAME. It panics if
// mux already has one of these routes.
func Register(mux Mux, title, specURL string) {
	var b bytes.Buffer
	if err := page.Execute(&b, struct{ Title, SpecURL string }{title, specURL}); err != nil {
		panic(err) // the template is ours and its data two strings: it cannot fail
	}
	mux.Handle("GET "+Path, serve(file{b.Bytes(), typeHTML}))
	for name, f := range files {
		mux.Handle("GET "+Path+"/"+name, serve(f))
	}
}

// serve answers with f. The files never change while the server runs, so
// a browser may keep them: it asks again each time (no-cache) with the
// ETag, and gets 304 and no body while they are the same, instead of
// 1.9 MB on every visit. They hold nothing private, unlike the API's
// answers, which are no-store.
func serve(f file) http.Handler {
	sum := sha256.Sum256(f.body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Type", f.contentType)
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", etag)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
	})
}
