package main

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The API every client relies on: the seed's endpoints and our extensions.
var wantRoutes = []string{
	"POST /register", "POST /login", "POST /send-otp", "POST /verify-otp", "POST /unlock",
	"POST /sensitive-data", "GET /sensitive-data", "GET /sensitive-data/{id}",
	"PUT /sensitive-data/{id}", "DELETE /sensitive-data/{id}",
	"POST /rotate-master-key", "GET /rotate-master-key",
	"GET /healthz", "GET /readyz",
	"POST /2fa/totp/setup", "GET /2fa/totp/qr", "POST /2fa/totp/confirm", "POST /2fa/disable",
	"POST /logout", "GET /sessions", "DELETE /sessions/{id}", "POST /change-password",
	"POST /2fa/recovery-codes", "DELETE /account",
	"GET /audit", "GET /admin/audit",
	"POST /passkeys/register/options", "POST /passkeys/register", "GET /passkeys", "DELETE /passkeys/{id}",
	"POST /passkeys/login/options", "POST /passkeys/login",
}

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig(t, t.TempDir()))
	r := s.do("GET", "/openapi.json", "", nil).want(t, 200, "openapi.json")
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal([]byte(r.Raw), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	var got []string
	for path, ops := range doc.Paths {
		for method := range ops {
			got = append(got, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Strings(got)
	want := append([]string(nil), wantRoutes...)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("documented routes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Every documented route is served: none answers 404 (no route) or 405.
	for _, route := range got {
		method, path, _ := strings.Cut(route, " ")
		path = strings.ReplaceAll(path, "{id}", "0123456789abcdef01234567")
		var body any
		if method == "POST" || method == "PUT" {
			body = "{}"
		}
		res := s.do(method, path, "", body)
		if res.Status == http.StatusMethodNotAllowed || strings.Contains(res.Raw, "no such route") {
			t.Errorf("%s is documented but not served: %d", route, res.Status)
		}
	}
	// A path that is not documented is not served, and says so like every
	// other error: problem+json with a detail.
	s.do("GET", "/admin", "", nil).want(t, 404, "undocumented path")
	r405 := s.do("PATCH", "/sensitive-data", "", nil).want(t, 405, "wrong method")
	if r405.Header.Get("Allow") != "GET, POST" {
		t.Errorf("Allow = %q", r405.Header.Get("Allow"))
	}
	// Authentication is the bearer security scheme, declared per operation
	// and nowhere a header parameter; what an operation declares is what
	// the server does: one that requires the token refuses a request
	// without one, and one that does not never asks for it.
	var full struct {
		Paths map[string]map[string]struct {
			Security   []map[string][]string `json:"security"`
			Parameters []struct {
				Name, In string
			} `json:"parameters"`
			Responses map[string]any `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal([]byte(r.Raw), &full); err != nil {
		t.Fatal(err)
	}
	required := 0
	for path, ops := range full.Paths {
		for method, op := range ops {
			route := strings.ToUpper(method) + " " + path
			for _, p := range op.Parameters {
				if strings.EqualFold(p.Name, "Authorization") {
					t.Errorf("%s declares Authorization as a %s parameter", route, p.In)
				}
			}
			needs := len(op.Security) == 1 && op.Security[0]["bearer"] != nil
			optional := len(op.Security) == 2 && len(op.Security[0]) == 0 && op.Security[1]["bearer"] != nil
			if len(op.Security) > 0 && !needs && !optional {
				t.Errorf("%s: security %v", route, op.Security)
			}
			var body any
			if method == "post" || method == "put" || method == "delete" {
				body = "{}"
			}
			res := s.do(strings.ToUpper(method), strings.ReplaceAll(path, "{id}", "0123456789abcdef01234567"), "", body)
			asked := res.Status == 401 && strings.Contains(res.Raw, "a bearer token is required")
			if needs != asked {
				t.Errorf("%s: declares a required token %v, asks for one without it %v (%d %s)", route, needs, asked, res.Status, res.Raw)
			}
			if _, ok := op.Responses["401"]; (needs || optional) && !ok {
				t.Errorf("%s takes a token but does not declare 401", route)
			}
			if needs {
				required++
			}
		}
	}
	if required < 15 {
		t.Errorf("only %d operations require a token", required)
	}

	// Every link names an operation of the document and parameters it has.
	var linked struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
			Parameters  []struct{ Name string }
			Responses   map[string]struct {
				Links map[string]struct {
					OperationID string            `json:"operationId"`
					Parameters  map[string]string `json:"parameters"`
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(r.Raw), &linked); err != nil {
		t.Fatal(err)
	}
	params := map[string][]string{}
	for _, ops := range linked.Paths {
		for _, op := range ops {
			for _, p := range op.Parameters {
				params[op.OperationID] = append(params[op.OperationID], p.Name)
			}
		}
	}
	links := 0
	for _, ops := range linked.Paths {
		for _, op := range ops {
			for _, res := range op.Responses {
				for name, l := range res.Links {
					links++
					for p := range l.Parameters {
						if !slices.Contains(params[l.OperationID], p) {
							t.Errorf("%s: link %s to %q names parameter %q, which it does not have", op.OperationID, name, l.OperationID, p)
						}
					}
				}
			}
		}
	}
	if links < 6 {
		t.Errorf("%d links in the document", links)
	}
}

func TestHealth(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig(t, t.TempDir()))
	s.do("GET", "/healthz", "", nil).want(t, 200, "healthz").wantBody(t, `{"status": "ok"}`)
	s.do("GET", "/readyz", "", nil).want(t, 200, "readyz").wantBody(t, `{"status": "ok"}`)
	// With the store closed, the process is up but not ready.
	if err := s.Store.Close(); err != nil {
		t.Fatal(err)
	}
	s.do("GET", "/healthz", "", nil).want(t, 200, "healthz with the store down")
	s.do("GET", "/readyz", "", nil).want(t, 503, "readyz with the store down")
	s.Main.Store = nil // already closed
}

// The debug server (STRONGROOM_DEBUG_ADDR) serves counters and pprof on its
// own loopback listener, never on the API's.
func TestDebugServer(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, t.TempDir())
	cfg.DebugAddr = "127.0.0.1:0"
	s := startServer(t, cfg)
	s.register("dbg", seedPassword)
	res, err := http.Get("http://" + s.DebugAddr + "/debug/stats")
	if err != nil {
		t.Fatal(err)
	}
	var stats struct {
		Service struct {
			Unwraps *int64 `json:"keymanager_unwraps"`
		} `json:"service"`
	}
	err = json.NewDecoder(res.Body).Decode(&stats)
	res.Body.Close()
	if err != nil || stats.Service.Unwraps == nil {
		t.Fatalf("/debug/stats: %v", err)
	}
	if r := s.do("GET", "/debug/stats", "", nil); r.Status != 404 {
		t.Fatalf("the API listener serves /debug/stats: %d", r.Status)
	}
	if r, err := http.Get("http://" + s.DebugAddr + "/debug/pprof/"); err != nil || r.StatusCode != 200 {
		t.Fatalf("pprof: %v", err)
	}
}

// The list's page parameters and the quota refusals are in the contract.
func TestOpenAPIDescribesLimits(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig(t, t.TempDir()))
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name, In string
				Schema   map[string]any
			}
			Responses map[string]struct {
				Headers map[string]any
				Content map[string]struct {
					Schema map[string]any
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(s.do("GET", "/openapi.json", "", nil).Raw), &doc); err != nil {
		t.Fatal(err)
	}
	list := doc.Paths["/sensitive-data"]["get"]
	params := map[string]map[string]any{}
	for _, p := range list.Parameters {
		if p.In == "query" {
			params[p.Name] = p.Schema
		}
	}
	if l := params["limit"]; l == nil || l["minimum"] != 1.0 || l["maximum"] != 1000.0 {
		t.Errorf("limit parameter: %v", l)
	}
	if a := params["after"]; a == nil || a["pattern"] != "^[0-9a-f]{24}$" {
		t.Errorf("after parameter: %v", a)
	}
	ok := list.Responses["200"]
	if ok.Headers["Link"] == nil || ok.Headers["X-Next-After"] == nil || ok.Content["application/json"].Schema["type"] != "array" {
		t.Errorf("list answer: %+v", ok)
	}
	for _, op := range []string{"post /sensitive-data", "put /sensitive-data/{id}"} {
		method, path, _ := strings.Cut(op, " ")
		if _, found := doc.Paths[path][method].Responses["409"]; !found {
			t.Errorf("%s does not declare 409 for a quota refusal", op)
		}
	}
}

// "strongroom openapi" prints the document the server serves, in both
// forms, without starting anything. The 3.0 form has no keyword 3.0 lacks
// (huma's patternDescription, JSON Schema's if/then become extensions).
func TestOpenAPICommand(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig(t, t.TempDir()))
	y := s.do("GET", "/openapi-3.0.yaml", "", nil).want(t, 200, "3.0 YAML")
	if !strings.Contains(y.Header.Get("Content-Type"), "yaml") || !strings.Contains(y.Raw, "openapi: 3.0.3") || !strings.Contains(y.Raw, "x-pattern-description") {
		t.Fatalf("3.0 YAML: %s %.200s", y.Header.Get("Content-Type"), y.Raw)
	}
	j := s.do("GET", "/openapi-3.0.json", "", nil).want(t, 200, "3.0 JSON")
	for _, kw := range []string{`"patternDescription"`, `"if":`, `"then":`} {
		if strings.Contains(j.Raw, kw) {
			t.Errorf("the 3.0 form has %s", kw)
		}
	}
	for _, c := range []struct {
		args    []string
		path    string
		version string
	}{{nil, "/openapi.json", "3.1.0"}, {[]string{"-3.0"}, "/openapi-3.0.json", "3.0.3"}} {
		var out strings.Builder
		if err := printOpenAPI(&out, c.args); err != nil {
			t.Fatal(err)
		}
		var printed, served map[string]any
		if err := json.Unmarshal([]byte(out.String()), &printed); err != nil {
			t.Fatal(err)
		}
		_ = json.Unmarshal([]byte(s.do("GET", c.path, "", nil).want(t, 200, c.path).Raw), &served)
		if printed["openapi"] != c.version {
			t.Fatalf("%v: version %v", c.args, printed["openapi"])
		}
		pb, _ := json.Marshal(printed)
		sb, _ := json.Marshal(served)
		if string(pb) != string(sb) {
			t.Fatalf("%v: the printed document differs from %s", c.args, c.path)
		}
	}
}

// The README's API table lists exactly the operations the document
// describes: a new route without a row, or a row for a route that is gone,
// fails here.
func TestREADMETableIsTheDocument(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "## API at a glance")
	end := strings.Index(text[start:], "\n## ")
	if start < 0 || end < 0 {
		t.Fatal("no API table in the README")
	}
	row := regexp.MustCompile("(?m)^\\| `([A-Z]+) (/[^`?]*)[^`]*`")
	var readme []string
	for _, m := range row.FindAllStringSubmatch(text[start:start+end], -1) {
		readme = append(readme, m[1]+" "+m[2])
	}
	sort.Strings(readme)
	want := append([]string(nil), wantRoutes...)
	sort.Strings(want)
	if strings.Join(readme, "\n") != strings.Join(want, "\n") {
		t.Fatalf("the README's table lists:\n%s\nthe document describes:\n%s", strings.Join(readme, "\n"), strings.Join(want, "\n"))
	}
}
