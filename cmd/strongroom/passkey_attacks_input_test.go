package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strongroom/strongroom/internal/softpasskey"
)

// Attacks on the passkey feature with what a client sends: forged client
// data, malformed answers, cross-site web forms, and what the answers, the
// logs and the OpenAPI document give away.

// What a captured credential id (without the key) and a username tell a
// stranger: nothing. An unknown credential id, alice's id with a wrong
// signature, and a challenge never given are answered alike (status,
// title, detail, headers but the request id); unknown ids lock no one
// out, however many.
func TestPasskeyAttackFailuresAnswerAlike(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, func(t *testing.T, cfg Config) {
		s := startServer(t, cfg)
		_, a, c := s.withPasskey("alice", "Phone")

		stranger := clientFrom("127.0.0.90")
		unknown := *c
		unknown.ID = []byte("0123456789abcdef")
		wrongKey := *c
		wrongKey.Key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		noChallenge, _ := a.Sign("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", c)
		answers := map[string][]byte{
			"unknown id":         s.loginAnswer(stranger, a, &unknown),
			"alice's id, forged": s.loginAnswer(stranger, a, &wrongKey),
			"no such challenge":  noChallenge,
		}
		var first string
		var firstShape string
		for what, ans := range answers {
			r := s.doWith(stranger, "POST", "/passkeys/login", "", loginBody(ans)).want(t, 401, what)
			shape := fmt.Sprintf("%v|%v|%v|%v|%v", r.JSON["status"], r.JSON["title"], r.JSON["detail"], r.JSON["errors"], headerNames(r.Header))
			if first == "" {
				first, firstShape = what, shape
			} else if shape != firstShape {
				t.Fatalf("%s answered %s, %s answered %s", what, shape, first, firstShape)
			}
		}
		// Ten unknown ids: alice is not locked.
		for i := range 10 {
			u := unknown
			u.ID = []byte(fmt.Sprintf("unknown-id-%05d", i))
			s.doWith(clientFrom(fmt.Sprintf("127.0.0.%d", 100+i)), "POST", "/passkeys/login", "", loginBody(s.loginAnswer(clientFrom(fmt.Sprintf("127.0.0.%d", 100+i)), a, &u))).
				want(t, 401, "unknown id")
		}
		s.passkeyLogin(a, c).want(t, 200, "alice after a stranger's unknown ids")
	})
}

func headerNames(h http.Header) string {
	var out []string
	for k := range h {
		if !volatileHeaders.MatchString(k) {
			out = append(out, k+"="+h.Get(k))
		}
	}
	return fmt.Sprint(sortedStrings(out))
}

func sortedStrings(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

// A hostile page or client that has alice's authenticator sign what it
// likes (the key itself is not taken): an answer from a cross-origin
// frame of an evil top page, one typed as a registration, one answering a
// registration challenge, one for another RP ID, one without a user
// handle: none signs in.
func TestPasskeyAttackForgedClientData(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig(t, t.TempDir()))
	tok, a, c := s.withPasskey("alice", "Phone")
	challenge := func() string {
		return parseOptions(t, s.do("POST", "/passkeys/login/options", "", nil).want(t, 200, "options").Raw).PublicKey.Challenge
	}
	counter := uint32(10)
	try := func(what string, answer []byte) {
		t.Helper()
		s.do("POST", "/passkeys/login", "", loginBody(answer)).want(t, 401, what)
		s.login("alice", seedPassword) // each counts in the lockout: clear it
	}
	next := func() uint32 { counter++; return counter }
	try("a cross-origin frame under an evil page", forgeGet(t, c, map[string]any{"type": "webauthn.get", "challenge": challenge(),
		"origin": s.origin(), "crossOrigin": true, "topOrigin": "https://evil.example"}, next()))
	try("cross-origin without a top origin", forgeGet(t, c, map[string]any{"type": "webauthn.get", "challenge": challenge(),
		"origin": s.origin(), "crossOrigin": true}, next()))
	try("typed as a registration", forgeGet(t, c, map[string]any{"type": "webauthn.create", "challenge": challenge(),
		"origin": s.origin()}, next()))
	regChallenge := parseOptions(t, s.do("POST", "/passkeys/register/options", tok, map[string]string{"password": seedPassword}).
		want(t, 200, "registration options").Raw).PublicKey.Challenge
	try("a registration's challenge", forgeGet(t, c, map[string]any{"type": "webauthn.get", "challenge": regChallenge,
		"origin": s.origin()}, next()))
	other := *c
	other.RPID = "evil.localhost"
	try("another RP ID", forgeGet(t, &other, map[string]any{"type": "webauthn.get", "challenge": challenge(), "origin": s.origin()}, next()))
	try("the origin's name as a subdomain of another", forgeGet(t, c, map[string]any{"type": "webauthn.get", "challenge": challenge(),
		"origin": s.origin() + ".evil.example"}, next()))
	try("the origin as userinfo of another", forgeGet(t, c, map[string]any{"type": "webauthn.get", "challenge": challenge(),
		"origin": s.origin() + "@evil.example"}, next()))
	try("https for http", forgeGet(t, c, map[string]any{"type": "webauthn.get", "challenge": challenge(),
		"origin": strings.Replace(s.origin(), "http:", "https:", 1)}, next()))
	// (An origin with a path, s.origin()+"/app", is accepted: go-webauthn
	// compares scheme, host and port only. No browser sends one, and it
	// names this origin anyway: noted, not refused here.)
	try("a subdomain's origin", forgeGet(t, c, map[string]any{"type": "webauthn.get", "challenge": challenge(),
		"origin": strings.Replace(s.origin(), "localhost", "evil.localhost", 1)}, next()))
	noHandle := *c
	noHandle.UserHandle = nil
	try("no user handle", forgeGet(t, &noHandle, map[string]any{"type": "webauthn.get", "challenge": challenge(), "origin": s.origin()}, next()))
	// The right answer still works (the counter moved on with the tries).
	c.Counter = next()
	s.passkeyLogin(a, c).want(t, 200, "the right answer")
}

// Malformed and huge answers to both endpoints: refused (4xx), quickly,
// never a 5xx or a panic.
func TestPasskeyAttackMalformedCredentials(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig(t, t.TempDir()))
	s.register("alice", seedPassword)
	tok := s.login("alice", seedPassword)
	deep := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
	// A CBOR byte string that says it is 2^63 bytes long; a map nested 1000
	// deep; an array of 100k items.
	bigLen := pkB64.EncodeToString([]byte{0xa1, 0x63, 'f', 'm', 't', 0x5b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	nested := make([]byte, 0, 2000)
	for range 1000 {
		nested = append(nested, 0xa1, 0x00)
	}
	nested = append(nested, 0x00)
	array := append([]byte{0x9a, 0x00, 0x01, 0x86, 0xa0}, make([]byte, 100000)...)
	cred := func(response string) string {
		return `{"id":"AAAA","rawId":"AAAA","type":"public-key","response":` + response + `,"clientExtensionResults":{}}`
	}
	cd := pkB64.EncodeToString([]byte(`{"type":"webauthn.create","challenge":"AAAA","origin":"` + s.origin() + `"}`))
	cdGet := pkB64.EncodeToString([]byte(`{"type":"webauthn.get","challenge":"AAAA","origin":"` + s.origin() + `"}`))
	bodies := []string{
		`{}`, `{"credential":null}`, `{"credential":""}`, `{"credential":1}`, `{"credential":[]}`, `{"credential":{}}`,
		`{"credential":` + deep + `}`,
		`{"credential":` + cred(`null`) + `}`,
		`{"credential":` + cred(`{}`) + `}`,
		`{"credential":` + cred(`{"clientDataJSON":"","attestationObject":""}`) + `}`,
		`{"credential":` + cred(`{"clientDataJSON":"`+cd+`","attestationObject":"`+bigLen+`"}`) + `}`,
		`{"credential":` + cred(`{"clientDataJSON":"`+cd+`","attestationObject":"`+pkB64.EncodeToString(nested)+`"}`) + `}`,
		`{"credential":` + cred(`{"clientDataJSON":"`+cd+`","attestationObject":"`+pkB64.EncodeToString(array)+`"}`) + `}`,
		`{"credential":` + cred(`{"clientDataJSON":"`+cdGet+`","authenticatorData":"","signature":"","userHandle":""}`) + `}`,
		`{"credential":` + cred(`{"clientDataJSON":"`+cdGet+`","authenticatorData":"AA","signature":"AA","userHandle":"AA"}`) + `}`,
		`{"credential":` + cred(`{"clientDataJSON":"`+cdGet+`","authenticatorData":"`+pkB64.EncodeToString(append(make([]byte, 37), nested...))+`","signature":"AA"}`) + `}`,
		`{"credential":{"id":"` + strings.Repeat("A", 400000) + `","rawId":"` + strings.Repeat("A", 400000) + `","type":"public-key","response":{}}}`,
		`{"credential":{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"` + strings.Repeat("e30", 200000) + `"}}}`,
		`{"credential":{"id":"AA==","rawId":"AA==","type":"public-key","response":{}}}`,
		`{"credential":{"id":"AAAA","rawId":"AAAA","type":"x","response":{}}}`,
		"{\"credential\":\"\xff\xfe\"}",
		`{"credential":{"id":"AAAA"},"credential":{"id":"BBBB"}}`,
		`{"name":"` + strings.Repeat("\u202e", 10) + `","credential":{}}`,
	}
	for i, b := range bodies {
		for _, ep := range []struct{ path, tok string }{{"/passkeys/login", ""}, {"/passkeys/register", tok}} {
			hc := clientFrom(fmt.Sprintf("127.0.1.%d", i%200+1)) // each its own address: no rate limit in the way
			start := time.Now()
			r := s.doWith(hc, "POST", ep.path, ep.tok, b)
			if r.Status >= 500 || r.Status < 400 || time.Since(start) > 3*time.Second {
				t.Errorf("body %d to %s: %d after %v: %.300s", i, ep.path, r.Status, time.Since(start), r.Raw)
			}
		}
		st, body, _ := s.webForm("/app/login/passkey", "", url.Values{"credential": {b}}, map[string]string{"Sec-Fetch-Site": "same-origin"})
		if st >= 500 || st < 400 || strings.Contains(body, "goroutine") {
			t.Errorf("body %d to the web sign-in: %d", i, st)
		}
	}
	if l := s.Logs.String(); strings.Contains(l, "panic") {
		t.Fatalf("a panic in the log: %.2000s", l[strings.Index(l, "panic"):])
	}
}

// Whatever passes through the passkey endpoints (API and web), the log
// keeps none of: the password, the tokens granted, the answers' client
// data, signatures and attestation, the challenges of live ceremonies.
func TestPasskeyAttackLogsKeepNoSecrets(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig(t, t.TempDir()))
	const pw = "Sekr1t!passkey-Pw"
	s.register("alice", pw)
	tok := s.login("alice", pw)
	a := s.authenticator()
	secrets := []string{pw, tok}
	// A registration through the API, a wrong password, a junk answer.
	opts := s.do("POST", "/passkeys/register/options", tok, map[string]string{"password": pw}).want(t, 200, "options")
	s.do("POST", "/passkeys/register/options", tok, map[string]string{"password": pw + "x"}).want(t, 401, "wrong password")
	cred, c, err := a.Create([]byte(opts.Raw))
	if err != nil {
		t.Fatal(err)
	}
	var cj struct {
		Response map[string]string `json:"response"`
	}
	_ = json.Unmarshal(cred, &cj)
	secrets = append(secrets, cj.Response["attestationObject"], parseOptions(t, opts.Raw).PublicKey.Challenge)
	s.do("POST", "/passkeys/register", tok, map[string]any{"credential": json.RawMessage(cred)}).want(t, 201, "add")
	s.do("POST", "/passkeys/register", tok, map[string]any{"credential": json.RawMessage(`{"id":"` + pw + `"}`)}).want(t, 422, "junk")
	// Sign-ins: a right one, a refused one (another origin), a replay.
	answer := s.loginAnswer(client, a, c)
	r := s.do("POST", "/passkeys/login", "", loginBody(answer)).want(t, 200, "sign in")
	ptok, _ := r.JSON["access_token"].(string)
	s.do("POST", "/passkeys/login", "", loginBody(answer)).want(t, 401, "replay")
	bad := s.loginAnswer(client, &softpasskey.Authenticator{Origin: "http://localhost:1"}, c)
	s.do("POST", "/passkeys/login", "", loginBody(bad)).want(t, 401, "another origin")
	live := parseOptions(t, s.do("POST", "/passkeys/login/options", "", nil).want(t, 200, "live options").Raw).PublicKey.Challenge
	var aj struct {
		Response map[string]string `json:"response"`
	}
	_ = json.Unmarshal(answer, &aj)
	secrets = append(secrets, ptok, aj.Response["signature"], aj.Response["clientDataJSON"], live)
	// The web forms.
	csrf := s.csrfOf(tok)
	same := map[string]string{"Sec-Fetch-Site": "same-origin"}
	s.webForm("/app/passkeys/options", tok, url.Values{"csrf": {csrf}, "password": {pw}}, same)
	s.webForm("/app/passkeys/options", tok, url.Values{"csrf": {csrf}, "password": {pw + "y"}}, same)
	s.webForm("/app/passkeys", tok, url.Values{"csrf": {csrf}, "credential": {`{"x":"` + pw + `"}`}}, same)
	_, wopts, _ := s.webForm("/app/login/passkey/options", "", nil, same)
	wanswer, _ := a.Get([]byte(wopts), c)
	_, _, cookies := s.webForm("/app/login/passkey", "", url.Values{"credential": {string(wanswer)}}, same)
	for _, ck := range cookies {
		secrets = append(secrets, ck.Value)
	}
	s.Service.Wait()
	logs := s.Logs.String()
	for _, sec := range secrets {
		if sec != "" && strings.Contains(logs, sec) {
			t.Errorf("the log holds %.40q", sec)
		}
	}
}

// The web app's passkey forms against another site: a login-CSRF (the
// attacker's own answer posted from their page, to sign the victim's
// browser in as the attacker), an add and a removal posted with the
// victim's cookie, options fetched cross-site: all refused before anything
// is spent, with Sec-Fetch-Site or, from older browsers, Origin.
func TestPasskeyAttackWebCrossSite(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig(t, t.TempDir()))
	s.register("alice", seedPassword)
	s.register("mallory", seedPassword)
	alice, mallory := s.login("alice", seedPassword), s.login("mallory", seedPassword)
	m := s.authenticator()
	mc, r := s.addPasskey(m, mallory, "Mallory's")
	r.want(t, 201, "mallory's passkey")
	a := s.authenticator()
	_, r = s.addPasskey(a, alice, "Alice's")
	id, _ := r.want(t, 201, "alice's passkey").JSON["id"].(string)

	cross := []map[string]string{
		{"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}, {"Sec-Fetch-Site": "none"},
		{"Origin": "http://evil.example"}, {"Origin": "null"}, {"Origin": "http://localhost:1"},
	}
	answer := s.loginAnswer(client, m, mc)
	for _, h := range cross {
		if st, _, ck := s.webForm("/app/login/passkey", "", url.Values{"credential": {string(answer)}}, h); st != 403 || len(ck) != 0 {
			t.Fatalf("login CSRF with %v: %d, cookies %v", h, st, ck)
		}
		if st, _, _ := s.webForm("/app/login/passkey/options", "", nil, h); st != 403 {
			t.Fatalf("sign-in options with %v: %d", h, st)
		}
		csrf := s.csrfOf(alice)
		if st, _, _ := s.webForm("/app/passkeys/options", alice, url.Values{"csrf": {csrf}, "password": {seedPassword}}, h); st != 403 {
			t.Fatalf("registration options with %v: %d", h, st)
		}
		if st, _, _ := s.webForm("/app/passkeys/"+id+"/delete", alice, url.Values{"csrf": {csrf}, "password": {seedPassword}}, h); st != 403 {
			t.Fatalf("removal with %v: %d", h, st)
		}
	}
	// Without the form token, same-origin: refused too.
	if st, _, _ := s.webForm("/app/passkeys/"+id+"/delete", alice, url.Values{"password": {seedPassword}}, map[string]string{"Sec-Fetch-Site": "same-origin"}); st != 403 {
		t.Fatalf("removal without the form token: %d", st)
	}
	// mallory's form token in alice's session: refused.
	if st, _, _ := s.webForm("/app/passkeys/"+id+"/delete", alice, url.Values{"csrf": {s.csrfOf(mallory)}, "password": {seedPassword}},
		map[string]string{"Sec-Fetch-Site": "same-origin"}); st != 403 {
		t.Fatalf("removal with another session's form token: %d", st)
	}
	if n := s.passkeyCount(alice); n != 1 {
		t.Fatalf("alice has %d passkeys", n)
	}
	// None of the refusals spent mallory's answer (nor signed anyone in).
	s.do("POST", "/passkeys/login", "", loginBody(answer)).want(t, 200, "the answer, unspent")
	// The JSON API grants no cross-origin reads to a page.
	r = s.doHeaders("POST", "/passkeys/login/options", "", nil, map[string]string{"Origin": "http://evil.example"})
	if v := r.Header.Get("Access-Control-Allow-Origin"); v != "" {
		t.Fatalf("CORS on the sign-in options: %q", v)
	}
}

// The OpenAPI document lists every status the passkey endpoints answer
// with, as seen here.
func TestPasskeyAttackOpenAPIStatuses(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig(t, t.TempDir()))
	s.register("alice", seedPassword)
	tok := s.login("alice", seedPassword)
	a := s.authenticator()
	seen := map[string]map[int]bool{}
	note := func(op string, r response) {
		if seen[op] == nil {
			seen[op] = map[int]bool{}
		}
		seen[op][r.Status] = true
	}
	note("passkey-register-options", s.do("POST", "/passkeys/register/options", tok, map[string]string{}))
	note("passkey-register-options", s.do("POST", "/passkeys/register/options", tok, map[string]string{"password": "Wrong!pass1"}))
	note("passkey-register-options", s.do("POST", "/passkeys/register/options", "", map[string]string{"password": seedPassword}))
	c, r := s.addPasskey(a, tok, "One")
	note("passkey-register", r)
	id, _ := r.JSON["id"].(string)
	note("passkey-register", s.do("POST", "/passkeys/register", tok, map[string]any{"credential": map[string]string{"id": "x"}}))
	note("passkey-register", s.do("POST", "/passkeys/register", "", map[string]any{"credential": map[string]string{"id": "x"}}))
	cred, _, _ := a.Create([]byte(s.do("POST", "/passkeys/register/options", tok, map[string]string{"password": seedPassword}).Raw))
	note("passkey-register", s.do("POST", "/passkeys/register", s.login("alice", seedPassword), map[string]any{"credential": json.RawMessage(cred)}))
	note("list-passkeys", s.do("GET", "/passkeys", "", nil))
	note("passkey-login", s.passkeyLogin(a, c))
	note("passkey-login", s.do("POST", "/passkeys/login", "", map[string]any{"credential": map[string]string{"id": "x"}}))
	note("passkey-login", s.do("POST", "/passkeys/login", "", loginBody(forgeGet(t, c, map[string]any{"type": "webauthn.get", "challenge": "AAAA", "origin": s.origin()}, 99))))
	note("delete-passkey", s.do("DELETE", "/passkeys/000000000000000000000000", tok, map[string]string{"password": seedPassword}))
	note("delete-passkey", s.do("DELETE", "/passkeys/"+id, tok, map[string]string{}))
	note("delete-passkey", s.do("DELETE", "/passkeys/"+id, tok, map[string]string{"password": "Wrong!pass1"}))
	note("delete-passkey", s.do("DELETE", "/passkeys/"+id, tok, map[string]string{"password": seedPassword}))

	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string                     `json:"operationId"`
			Responses   map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal([]byte(s.do("GET", "/openapi.json", "", nil).want(t, 200, "openapi").Raw), &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]map[string]bool{}
	for _, ops := range doc.Paths {
		for _, op := range ops {
			documented[op.OperationID] = map[string]bool{}
			for code := range op.Responses {
				documented[op.OperationID][code] = true
			}
		}
	}
	var missing []string
	var mu sync.Mutex
	for op, sts := range seen {
		for st := range sts {
			if !documented[op][fmt.Sprint(st)] && !documented[op]["default"] {
				mu.Lock()
				missing = append(missing, fmt.Sprintf("%s %d", op, st))
				mu.Unlock()
			}
		}
	}
	if len(missing) > 0 {
		t.Fatalf("answered but not documented: %v", sortedStrings(missing))
	}
}
