package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// /docs works with no internet: the page and everything it loads (its
// scripts and stylesheets, what they refer to, the OpenAPI document) come
// from the server itself, each with its right type, and the page's
// Content-Security-Policy lets the browser load nothing from another
// origin, nor run an inline script.
func TestDocsOffline(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig(t, t.TempDir()))
	base, _ := url.Parse(s.URL + "/docs")
	page := fetchAsset(t, base, "text/html")
	wantStrictCSP(t, "/docs", page.header)
	refs, specURL := pageRefs(t, page.body)
	if len(refs) < 4 {
		t.Fatalf("/docs refers to %d assets, want the bundle, our script and two stylesheets: %v", len(refs), refs)
	}
	if specURL != "/openapi.json" {
		t.Fatalf("the page shows %q, want /openapi.json", specURL)
	}
	wantType := map[string]string{"script": "text/javascript", "link": "text/css"}
	for _, ref := range refs {
		u := sameOrigin(t, base, ref.url)
		a := fetchAsset(t, u, wantType[ref.tag])
		wantStrictCSP(t, u.Path, a.header)
		if ref.tag == "link" {
			// What a stylesheet loads: its icons are data: URLs, and any
			// other url() must be served here too.
			for _, m := range cssURL.FindAllStringSubmatch(a.body, -1) {
				if ref := strings.Trim(m[1], `"' `); !strings.HasPrefix(ref, "data:") {
					fetchAsset(t, sameOrigin(t, u, ref), "")
				}
			}
		}
		if strings.HasSuffix(u.Path, "/docs.js") {
			// What the script loads: the document the page names, and
			// no validity badge from validator.swagger.io.
			for _, want := range []string{"root.dataset.url", "validatorUrl: null"} {
				if !strings.Contains(a.body, want) {
					t.Errorf("docs.js does not contain %q", want)
				}
			}
			if strings.Contains(a.body, "://") {
				t.Errorf("docs.js names an absolute URL")
			}
		}
	}
	spec := fetchAsset(t, sameOrigin(t, base, specURL), "application/openapi+json")
	var doc struct{ OpenAPI string }
	if err := json.Unmarshal([]byte(spec.body), &doc); err != nil || !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("%s is not the OpenAPI 3.1 document: %v, openapi %q", specURL, err, doc.OpenAPI)
	}
	// The licence is served beside the bundle, which refers to it.
	fetchAsset(t, sameOrigin(t, base, "/docs/LICENSE"), "text/plain")
	fetchAsset(t, sameOrigin(t, base, "/docs/swagger-ui-bundle.js.LICENSE.txt"), "text/plain")
}

var cssURL = regexp.MustCompile(`url\(([^)]*)\)`)

type assetRef struct{ tag, url string }

// pageRefs returns the URLs the page loads (script src, link href) and
// the OpenAPI document's URL, which docs.js reads from #swagger-ui's
// data-url. An inline script, a style element or attribute, or an event
// handler attribute fails the test: the policy would block them.
func pageRefs(t *testing.T, page string) (refs []assetRef, specURL string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attr := map[string]string{}
			for _, a := range n.Attr {
				attr[a.Key] = a.Val
				if a.Key == "style" || strings.HasPrefix(a.Key, "on") {
					t.Errorf("<%s> has a %s attribute, which the policy blocks", n.Data, a.Key)
				}
			}
			switch n.Data {
			case "script":
				if attr["src"] == "" || n.FirstChild != nil {
					t.Errorf("an inline script: the policy blocks it")
				}
				refs = append(refs, assetRef{"script", attr["src"]})
			case "link":
				if attr["rel"] != "stylesheet" {
					t.Errorf("<link rel=%q>: only stylesheets are expected", attr["rel"])
				}
				refs = append(refs, assetRef{"link", attr["href"]})
			case "style":
				t.Errorf("a <style> element: the policy blocks it")
			}
			if attr["id"] == "swagger-ui" {
				specURL = attr["data-url"]
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return refs, specURL
}

// sameOrigin resolves ref against base and fails unless it is on base's
// origin.
func sameOrigin(t *testing.T, base *url.URL, ref string) *url.URL {
	t.Helper()
	u, err := base.Parse(ref)
	if err != nil {
		t.Fatalf("%q: %v", ref, err)
	}
	if u.Scheme != base.Scheme || u.Host != base.Host {
		t.Fatalf("%q is not on the server's origin %s://%s", ref, base.Scheme, base.Host)
	}
	return u
}

type asset struct {
	header http.Header
	body   string
}

// fetchAsset GETs u and checks that it answers 200 with Content-Type
// contentType (any, if empty).
func fetchAsset(t *testing.T, u *url.URL, contentType string) asset {
	t.Helper()
	res, err := client.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	ct := res.Header.Get("Content-Type")
	if res.StatusCode != 200 || (contentType != "" && strings.TrimSpace(strings.Split(ct, ";")[0]) != contentType) {
		t.Fatalf("GET %s: %d, Content-Type %q; want 200, %s", u.Path, res.StatusCode, ct, contentType)
	}
	return asset{res.Header, string(b)}
}

// wantStrictCSP checks the Content-Security-Policy: everything from this
// origin only ('self'; data: and blob: images), no other origin by name or
// wildcard, and no inline script or eval.
func wantStrictCSP(t *testing.T, path string, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	if csp == "" {
		t.Fatalf("%s: no Content-Security-Policy", path)
	}
	directives := map[string][]string{}
	for _, d := range strings.Split(csp, ";") {
		f := strings.Fields(d)
		if len(f) == 0 {
			continue
		}
		directives[f[0]] = f[1:]
		for _, src := range f[1:] {
			switch src {
			case "'self'", "'none'", "data:", "blob:":
			default:
				t.Errorf("%s: %s allows %s: only 'self', 'none', data: and blob: are expected", path, f[0], src)
			}
		}
	}
	if got := strings.Join(directives["default-src"], " "); got != "'none'" {
		t.Errorf("%s: default-src %q, want 'none'", path, got)
	}
	if got := strings.Join(directives["script-src"], " "); got != "'self'" {
		t.Errorf("%s: script-src %q, want 'self'", path, got)
	}
	for _, d := range []string{"style-src", "connect-src", "img-src"} {
		if got := directives[d]; len(got) == 0 || got[0] != "'self'" {
			t.Errorf("%s: %s %q, want 'self' first: the page loads its styles, document and icons from here", path, d, got)
		}
	}
	if got := strings.Join(directives["frame-ancestors"], " "); got != "'none'" {
		t.Errorf("%s: frame-ancestors %q, want 'none': no other page may frame this one", path, got)
	}
}
