package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"pgregory.net/rapid"
)

// TestSchemaFuzz is a schema-driven, property-based fuzzer, in the manner
// of Schemathesis: it reads the live server's OpenAPI document, generates
// requests for every operation from the document's schemas (mostly valid,
// some broken on purpose), with a token, without one, or with a forged
// one, follows the document's links (a created record's id is used for the
// operations that take one), and checks every answer against the
// document. It fails on a 5xx; on a status the operation does not declare,
// or an answer (body or headers) that does not match its declaration; on
// an error that is not problem+json with a detail; on a request the
// document calls valid that is refused for its input (400, 413, 415,
// 422); and on one the document calls invalid that is accepted. Whether a
// request is valid is judged by kin-openapi's request validator, not by
// the generator.
func TestSchemaFuzz(t *testing.T) {
	if f := flag.Lookup("rapid.checks"); f != nil && f.Value.String() == "100" {
		_ = f.Value.Set("3000") // thousands of requests per run, unless asked otherwise
	}
	ctx := context.Background()
	f := newFuzzer(t, startServer(t))
	rapid.Check(t, func(rt *rapid.T) { f.step(ctx, rt) })
	t.Logf("%d requests: %d judged valid by the document, statuses %v", f.sent, f.valid, f.statuses)
	t.Logf("by operation: %v", f.byOp)
	if f.valid < f.sent/4 || len(f.statuses) < 8 {
		t.Errorf("the generator produced too few valid requests (%d of %d) or statuses (%v) to say much", f.valid, f.sent, f.statuses)
	}
}

type fuzzer struct {
	t        *testing.T
	base     string
	doc      *openapi3.T
	router   routers.Router
	ops      []op
	user     string   // the fuzzer's own account
	accounts int      // how many it has made
	token    string   // a live token of it
	records  []string // ids the server answered (the document's links lead from them)
	events   []string // audit event ids GET /audit answered
	sent     int
	valid    int
	statuses map[int]int
	byOp     map[string]int // operation and status → answers
}

type op struct {
	method, path string
	o            *openapi3.Operation
}

const (
	fuzzUser     = "fuzzowner"
	fuzzPassword = "Fuzz!Passw0rd"
)

func newFuzzer(t *testing.T, base string) *fuzzer {
	res, err := http.Get(base + "/openapi-3.0.json")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the document is not valid OpenAPI: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: base}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	f := &fuzzer{t: t, base: base, doc: doc, router: router, statuses: map[int]int{}, byOp: map[string]int{}, user: fuzzUser}
	for path, item := range doc.Paths.Map() {
		for method, o := range item.Operations() {
			f.ops = append(f.ops, op{method, path, o})
		}
	}
	slices.SortFunc(f.ops, func(a, b op) int { return strings.Compare(a.method+a.path, b.method+b.path) })
	f.call("POST", "/register", "", map[string]string{"username": f.user, "email": f.user + "@example.com", "password": fuzzPassword})
	f.relogin()
	return f
}

// call sends a JSON request of the fuzzer's own (not a generated one).
func (f *fuzzer) call(method, path, token string, body any) (int, map[string]any) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, f.base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// relogin gets a fresh token, after a generated request ended the last.
// Generated requests with the token also check wrong passwords (a password
// change, a deletion), which lock the account as any wrong password does:
// then the fuzzer goes on with a new account.
func (f *fuzzer) relogin() {
	for range 2 {
		status, out := f.call("POST", "/login", "", map[string]string{"username": f.user, "password": fuzzPassword})
		if tok, _ := out["access_token"].(string); status == 200 && tok != "" {
			f.token = tok
			return
		}
		if status != 429 && status != 401 {
			f.t.Fatalf("the fuzzer's own login: %d %v", status, out)
		}
		f.accounts++
		f.user = fmt.Sprintf("%s%d", fuzzUser, f.accounts)
		if status, out := f.call("POST", "/register", "", map[string]string{"username": f.user, "email": f.user + "@example.com", "password": fuzzPassword}); status != 200 {
			f.t.Fatalf("the fuzzer's new account: %d %v", status, out)
		}
	}
	f.t.Fatal("the fuzzer cannot log in")
}

func (f *fuzzer) step(ctx context.Context, rt *rapid.T) {
	// Every operation in turn (rapid's draws favour the first of a list);
	// the request itself is drawn.
	o := f.ops[f.sent%len(f.ops)]
	broken := rapid.IntRange(0, 9).Draw(rt, "broken") < 2 // a fifth of the requests break a rule on purpose
	req, body := f.request(rt, o, broken)
	switch rapid.IntRange(0, 9).Draw(rt, "token") {
	case 0:
	case 1:
		req.Header.Set("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.forged")
	default:
		req.Header.Set("Authorization", "Bearer "+f.token)
	}

	// The document's verdict on the request.
	route, pathParams, err := f.router.FindRoute(req)
	if err != nil {
		rt.Fatalf("the router finds no operation for %s %s: %v", req.Method, req.URL, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	req.Body = io.NopCloser(bytes.NewReader(body))
	valid := openapi3filter.ValidateRequest(ctx, in) == nil && cardRule(o, body) && bodyLimit(o, body)
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))

	res, err := http.DefaultClient.Do(req)
	if err != nil {
		rt.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	f.sent++
	if valid {
		f.valid++
	}
	f.statuses[res.StatusCode]++
	f.byOp[o.o.OperationID+" "+fmt.Sprint(res.StatusCode)]++
	what := fmt.Sprintf("%s %s (valid by the document: %v) %q → %d %s", req.Method, req.URL.RequestURI(), valid, body, res.StatusCode, raw)

	if res.StatusCode >= 500 {
		rt.Fatalf("a server error: %s", what)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode, Header: res.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	out.SetBodyBytes(raw)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		rt.Fatalf("the answer breaks the document: %v\n%s", err, what)
	}
	if res.StatusCode >= 400 {
		var p struct{ Detail string }
		if !strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") || json.Unmarshal(raw, &p) != nil || p.Detail == "" {
			rt.Fatalf("an error that is not problem+json with a detail: %s", what)
		}
	}
	refusedForInput := slices.Contains([]int{400, 413, 415, 422}, res.StatusCode)
	if valid && refusedForInput {
		rt.Fatalf("a request valid by the document was refused for its input: %s", what)
	}
	if !valid && res.StatusCode < 400 {
		rt.Fatalf("a request invalid by the document was accepted: %s", what)
	}
	f.learn(o, res.StatusCode, raw)
}

// learn follows the document's links and keeps the fuzzer's own session.
func (f *fuzzer) learn(o op, status int, raw []byte) {
	if status == 401 || status == 429 {
		// The fuzzer's token may have ended (a session revoked by id) or
		// its account locked: make sure it still has a way in.
		if s, _ := f.call("GET", "/sessions", f.token, nil); s != 200 {
			f.relogin()
		}
		return
	}
	if status != 200 {
		return
	}
	switch o.o.OperationID {
	case "create-data":
		var r struct{ ID string }
		if json.Unmarshal(raw, &r) == nil && r.ID != "" {
			f.records = append(f.records, r.ID)
		}
	case "my-audit-events":
		var es []struct{ ID string }
		if json.Unmarshal(raw, &es) == nil {
			for _, e := range es {
				f.events = append(f.events, e.ID)
			}
		}
	case "logout", "revoke-session", "change-password", "delete-account", "2fa-disable":
		f.relogin()
	}
}

// cardRule is the one rule the 3.0 document states only as an extension
// (x-if/x-then: 3.0 has no if/then; the 3.1 form has them): a
// card_number's value is 16 digits.
func cardRule(o op, body []byte) bool {
	if o.o.OperationID != "create-data" && o.o.OperationID != "update-data" {
		return true
	}
	var b struct{ DataType, Value any }
	if json.Unmarshal(body, &struct {
		DataType *any `json:"data_type"`
		Value    *any `json:"value"`
	}{&b.DataType, &b.Value}) != nil || b.DataType != "card_number" {
		return true
	}
	v, ok := b.Value.(string)
	return ok && regexp.MustCompile(`^[0-9]{16}$`).MatchString(v)
}

// bodyLimit is the rule the document states as the operation's
// x-max-body-bytes (no schema keyword states it): a longer body is refused.
func bodyLimit(o op, body []byte) bool {
	limit, ok := o.o.Extensions["x-max-body-bytes"].(float64)
	return !ok || len(body) <= int(limit)
}

// request builds a request for o from its schemas: parameters and body
// valid by them, unless broken asks for one rule to be broken.
func (f *fuzzer) request(rt *rapid.T, o op, broken bool) (*http.Request, []byte) {
	path := o.path
	q := url.Values{}
	for _, pr := range o.o.Parameters {
		p := pr.Value
		if p.In == "header" {
			continue
		}
		if p.In == "query" && !p.Required && rapid.Bool().Draw(rt, "omit "+p.Name) {
			continue
		}
		var v string
		if p.Name == "id" && strings.HasPrefix(o.path, "/sensitive-data") && len(f.records) > 0 && rapid.Bool().Draw(rt, "known id") {
			v = rapid.SampledFrom(f.records).Draw(rt, "id")
		} else if o.o.OperationID == "my-audit-events" && p.Name == "before" {
			// The id of an event from a previous page (as the document
			// says): one the server gave out, which no pattern can tell.
			if len(f.events) == 0 {
				continue
			}
			v = rapid.SampledFrom(f.events).Draw(rt, "event id")
		} else {
			v = fmt.Sprint(genValue(rt, p.Schema.Value, p.Name, 0))
		}
		if p.In == "path" {
			path = strings.ReplaceAll(path, "{"+p.Name+"}", url.PathEscape(v))
		} else {
			q.Set(p.Name, v)
		}
	}
	var body []byte
	contentType := "application/json"
	if o.o.RequestBody != nil {
		s := o.o.RequestBody.Value.Content.Get("application/json").Schema.Value
		v := genValue(rt, s, "body", 0)
		if broken {
			v, body, contentType = breakRule(rt, s, v)
		}
		if body == nil {
			body, _ = json.Marshal(v)
		}
	} else if broken && len(o.o.Parameters) > 0 {
		path = o.path
		for _, pr := range o.o.Parameters {
			if pr.Value.In == "path" {
				path = strings.ReplaceAll(path, "{"+pr.Value.Name+"}", "not-an-id")
			}
		}
	}
	u := f.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(strings.ToUpper(o.method), u, bytes.NewReader(body))
	if err != nil {
		rt.Fatalf("request: %v", err)
	}
	if o.o.RequestBody != nil {
		req.Header.Set("Content-Type", contentType)
	}
	return req, body
}

// breakRule breaks one rule of a body valid by s: a required property
// missing, an unknown one, a wrong type, malformed JSON, or not JSON.
func breakRule(rt *rapid.T, s *openapi3.Schema, v any) (any, []byte, string) {
	obj, _ := v.(map[string]any)
	switch rapid.IntRange(0, 4).Draw(rt, "how") {
	case 0:
		if len(s.Required) > 0 && obj != nil {
			delete(obj, rapid.SampledFrom(s.Required).Draw(rt, "drop"))
			return obj, nil, "application/json"
		}
		fallthrough
	case 1:
		if obj != nil {
			obj["is_admin"] = true
			return obj, nil, "application/json"
		}
		fallthrough
	case 2:
		if obj != nil && len(s.Required) > 0 {
			obj[rapid.SampledFrom(s.Required).Draw(rt, "retype")] = []int{1}
			return obj, nil, "application/json"
		}
		fallthrough
	case 3:
		return nil, []byte(`{"username": "x", `), "application/json"
	default:
		return nil, []byte(`username=x`), "application/x-www-form-urlencoded"
	}
}

// genValue draws a value valid by s.
func genValue(rt *rapid.T, s *openapi3.Schema, label string, depth int) any {
	switch {
	case s.Type.Is("object"):
		obj := map[string]any{}
		names := make([]string, 0, len(s.Properties))
		for n := range s.Properties {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			if slices.Contains(s.Required, n) || rapid.Bool().Draw(rt, "with "+n) {
				obj[n] = genValue(rt, s.Properties[n].Value, n, depth+1)
			}
		}
		// The card_number rule (x-if/x-then in the 3.0 form).
		if _, ok := s.Extensions["x-then"]; ok && obj["data_type"] == "card_number" {
			obj["value"] = rapid.StringMatching(`^[0-9]{16}$`).Draw(rt, "card number")
		}
		return obj
	case s.Type.Is("array"):
		n := rapid.IntRange(0, 3).Draw(rt, label+" items")
		out := make([]any, n)
		for i := range out {
			out[i] = genValue(rt, s.Items.Value, label, depth+1)
		}
		return out
	case s.Type.Is("integer"):
		lo, hi := -1000, 1000
		if s.Min != nil {
			lo = int(*s.Min)
		}
		if s.Max != nil {
			hi = int(*s.Max)
		}
		return rapid.IntRange(lo, hi).Draw(rt, label)
	case s.Type.Is("boolean"):
		return rapid.Bool().Draw(rt, label)
	case s.Type.Is("string"):
		return genString(rt, s, label)
	}
	return nil
}

var interesting = []string{"card_number", "note", "alice", "123456", "ABCDE-FGHIJ"}

func genString(rt *rapid.T, s *openapi3.Schema, label string) string {
	if len(s.Enum) > 0 {
		return fmt.Sprint(rapid.SampledFrom(s.Enum).Draw(rt, label))
	}
	lo, hi := int(s.MinLength), 40
	if s.MaxLength != nil && int(*s.MaxLength) < hi {
		hi = int(*s.MaxLength)
	}
	ok := func(v string) bool {
		n := utf8.RuneCountInString(v)
		return n >= int(s.MinLength) && (s.MaxLength == nil || n <= int(*s.MaxLength)) &&
			(s.Pattern == "" || regexp.MustCompile(s.Pattern).MatchString(v))
	}
	// Now and then a value the server knows, if the schema allows it.
	if v := rapid.SampledFrom(interesting).Draw(rt, label+" known"); rapid.IntRange(0, 4).Draw(rt, label+" use known") == 0 && ok(v) {
		return v
	}
	if s.Pattern == "" {
		// Mostly short; now and then as long as the schema allows, where
		// the length rules live.
		if s.MaxLength != nil && rapid.IntRange(0, 5).Draw(rt, label+" longest") == 0 {
			lo, hi = int(*s.MaxLength), int(*s.MaxLength)
		}
		return rapid.StringN(lo, hi, -1).Filter(ok).Draw(rt, label)
	}
	// The generator favours short strings, and the length rules are at the
	// other end: now and then every bounded repetition of the pattern is
	// taken at its most, if the result is still within the lengths.
	if rapid.IntRange(0, 3).Draw(rt, label+" longest") == 0 {
		if v := rapid.StringMatching(longest(s.Pattern)).Draw(rt, label+" at most"); ok(v) {
			return v
		}
	}
	return rapid.StringMatching(s.Pattern).Filter(ok).Draw(rt, label)
}

// longest rewrites a pattern so that each bounded repetition ({m,n}) takes
// n, and each unbounded one (*, +, {m,}) at least 16.
func longest(pattern string) string {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return pattern
	}
	var walk func(*syntax.Regexp)
	walk = func(r *syntax.Regexp) {
		switch r.Op {
		case syntax.OpRepeat:
			if r.Max >= 0 {
				r.Min = r.Max
			} else {
				r.Min = max(r.Min, 16)
			}
		case syntax.OpStar, syntax.OpPlus:
			r.Op, r.Min, r.Max = syntax.OpRepeat, 16, 16
		}
		for _, sub := range r.Sub {
			walk(sub)
		}
	}
	walk(re)
	return re.String()
}
