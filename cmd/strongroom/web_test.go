package main

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/strongroom/strongroom/sqlite"
	"github.com/strongroom/strongroom/web"
)

// webClient does not follow redirects: the tests look at each answer.
var webClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// webForm posts a form to the web app with the session cookie tok (if
// any) and the headers given, and returns the status, the body and the
// answer's cookies.
func (s *testServer) webForm(path, tok string, form url.Values, headers map[string]string) (int, string, []*http.Cookie) {
	s.t.Helper()
	req, err := http.NewRequest("POST", s.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return s.webSend(req, tok, headers)
}

func (s *testServer) webGet(path, tok string) (int, string, []*http.Cookie) {
	s.t.Helper()
	req, err := http.NewRequest("GET", s.URL+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	return s.webSend(req, tok, nil)
}

func (s *testServer) webSend(req *http.Request, tok string, headers map[string]string) (int, string, []*http.Cookie) {
	s.t.Helper()
	if tok != "" {
		req.AddCookie(&http.Cookie{Name: web.CookieName, Value: tok})
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := webClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Cookies()
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfOf returns the form token a signed-in page gives the session tok.
func (s *testServer) csrfOf(tok string) string {
	s.t.Helper()
	st, body, _ := s.webGet("/app/records", tok)
	m := csrfRE.FindStringSubmatch(body)
	if st != 200 || m == nil {
		s.t.Fatalf("records page: %d %s", st, body)
	}
	return m[1]
}

// The web app's forms change nothing for a request that lacks the
// session's own form token or that its browser says another site sent,
// even with the session cookie; a session that ended is signed out.
func TestWebFormsRefuseForgedPosts(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	s.register("alice", seedPassword)
	tok, other := s.login("alice", seedPassword), s.login("alice", seedPassword)
	sameSite := map[string]string{"Sec-Fetch-Site": "same-origin"}
	add := url.Values{"data_type": {"card_number"}, "value": {"4111111111111111"}}
	with := func(csrf string) url.Values {
		v := url.Values{"csrf": {csrf}}
		for k, vs := range add {
			v[k] = vs
		}
		return v
	}
	records := func() int { // alice's, through the other session
		return len(s.do("GET", "/sensitive-data", other, nil).want(t, 200, "list").List)
	}

	for _, c := range []struct {
		name    string
		form    url.Values
		headers map[string]string
	}{
		{"no form token", add, sameSite},
		{"another session's form token", with(s.csrfOf(other)), sameSite},
		{"a cross-site post (Sec-Fetch-Site)", with(s.csrfOf(tok)), map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"a same-site but cross-origin post", with(s.csrfOf(tok)), map[string]string{"Sec-Fetch-Site": "same-site"}},
		{"another origin (Origin)", with(s.csrfOf(tok)), map[string]string{"Origin": "http://evil.example"}},
	} {
		if st, body, _ := s.webForm("/app/records", tok, c.form, c.headers); st != http.StatusForbidden {
			t.Fatalf("%s: %d %s", c.name, st, body)
		}
		if n := records(); n != 0 {
			t.Fatalf("%s: %d records", c.name, n)
		}
	}
	// A value that is not UTF-8 (which a JSON body cannot carry either).
	bad := with(s.csrfOf(tok))
	bad.Set("value", "\xff\xfe4111")
	if st, body, _ := s.webForm("/app/records", tok, bad, sameSite); st != http.StatusBadRequest || records() != 0 {
		t.Fatalf("a value that is not UTF-8: %d %s", st, body)
	}
	// The session's own token, from this origin: added.
	if st, body, _ := s.webForm("/app/records", tok, with(s.csrfOf(tok)), sameSite); st != http.StatusSeeOther {
		t.Fatalf("the genuine form: %d %s", st, body)
	}
	if n := records(); n != 1 {
		t.Fatalf("%d records after the genuine form", n)
	}

	// Every page is sent with the strict policy: scripts of this origin
	// only (passkey.js), none inline, nothing from elsewhere, no framing.
	res, err := http.Get(s.URL + "/app/login")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	csp := res.Header.Get("Content-Security-Policy")
	directives := map[string]string{}
	for _, d := range strings.Split(csp, ";") {
		name, sources, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = sources
	}
	if csp != web.CSP || directives["default-src"] != "'none'" || directives["script-src"] != "'self'" ||
		directives["connect-src"] != "'self'" || directives["frame-ancestors"] != "'none'" || strings.Contains(csp, "unsafe") {
		t.Fatalf("CSP %q", csp)
	}

	// A session ended through the API is signed out of the app too.
	s.do("POST", "/logout", tok, nil).want(t, 200, "logout")
	st, _, cookies := s.webGet("/app/records", tok)
	if st != http.StatusSeeOther || len(cookies) != 1 || cookies[0].MaxAge >= 0 {
		t.Fatalf("an ended session's records page: %d, cookies %v", st, cookies)
	}
	csrf := with(s.csrfOf(other)) // the form token a page gave the ended session is gone with it
	csrf.Set("csrf", web.FormToken(tok))
	if st, body, _ := s.webForm("/app/records", tok, csrf, sameSite); st != http.StatusSeeOther || records() != 1 {
		t.Fatalf("a form with an ended session: %d %s (%d records)", st, body, records())
	}
}

// A wrong password on the sign-in page says so and sets no cookie; the
// right one sets the session cookie, HttpOnly, Secure, SameSite=Strict.
func TestWebSignIn(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	s.register("bob", seedPassword)
	st, body, cookies := s.webForm("/app/login", "", url.Values{"username": {"bob"}, "password": {"Wrong-pass-123"}}, nil)
	if st != http.StatusUnauthorized || len(cookies) != 0 || !strings.Contains(body, `role="alert"`) {
		t.Fatalf("a wrong password: %d %v %s", st, cookies, body)
	}
	st, _, cookies = s.webForm("/app/login", "", url.Values{"username": {"bob"}, "password": {seedPassword}}, nil)
	if st != http.StatusSeeOther || len(cookies) != 1 {
		t.Fatalf("the right password: %d %v", st, cookies)
	}
	c := cookies[0]
	if c.Name != web.CookieName || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
		t.Fatalf("session cookie %+v", c)
	}
	if s.do("GET", "/sessions", c.Value, nil).Status != 200 {
		t.Fatal("the cookie's token is not a session")
	}
	// Every page says who is signed in: a session someone else planted
	// in the browser shows.
	if st, body, _ := s.webGet("/app/records", c.Value); st != 200 || !strings.Contains(body, `id="signed-in-as">bob<`) {
		t.Fatalf("records page: %d %s", st, body)
	}
	// Signing in again, in the same browser, ends the session it had.
	st, _, again := s.webSend(mustForm(t, s.URL+"/app/login", url.Values{"username": {"bob"}, "password": {seedPassword}}), c.Value, nil)
	if st != http.StatusSeeOther || len(again) != 1 || again[0].Value == c.Value {
		t.Fatalf("signing in again: %d %v", st, again)
	}
	if st := s.do("GET", "/sessions", c.Value, nil).Status; st != 401 {
		t.Fatalf("the session before signing in again answers %d", st)
	}
	if st := s.do("GET", "/sessions", again[0].Value, nil).Status; st != 200 {
		t.Fatalf("the new session answers %d", st)
	}
}

func mustForm(t *testing.T, u string, form url.Values) *http.Request {
	req, err := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

// A sign-out that the store could not carry out says so and keeps the
// cookie: the token is still live, and the page must not tell its user
// otherwise. (The store is held by another writer for longer than its
// busy timeout, 10 s.)
func TestWebSignOutThatFailsSaysSo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, testConfig(t, dir))
	s.register("erin", seedPassword)
	tok := s.login("erin", seedPassword)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	st, body, cookies := s.webForm("/app/logout", tok, url.Values{"csrf": {web.FormToken(tok)}}, map[string]string{"Sec-Fetch-Site": "same-origin"})
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if st < 500 || strings.Contains(body, "signed out.") || len(cookies) != 0 {
		t.Fatalf("a failed sign-out: %d %v %s", st, cookies, body)
	}
	if st := s.do("GET", "/sessions", tok, nil).Status; st != 200 {
		t.Fatalf("the session after the failed sign-out answers %d", st)
	}
	// Once the store answers, signing out works.
	if st, body, cookies := s.webForm("/app/logout", tok, url.Values{"csrf": {web.FormToken(tok)}}, map[string]string{"Sec-Fetch-Site": "same-origin"}); st != 200 || !strings.Contains(body, "signed out.") || len(cookies) != 1 {
		t.Fatalf("signing out: %d %v %s", st, cookies, body)
	}
	if st := s.do("GET", "/sessions", tok, nil).Status; st != 401 {
		t.Fatalf("the session after signing out answers %d", st)
	}
}

var challengeRE = regexp.MustCompile(`name="challenge" value="([^"]+)"`)

// With email two-factor on, the sign-in page asks for the mailed code,
// and only the code completes the sign-in: the password alone sets no
// cookie, and a wrong code neither.
func TestWebSignInWithMailedCode(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	s.register("carol", seedPassword)
	tok := s.login("carol", seedPassword)
	s.do("POST", "/send-otp", tok, map[string]string{"username": "carol"}).want(t, 200, "enroll email")
	s.do("POST", "/verify-otp", tok, map[string]string{"username": "carol", "otp": s.lastCode("carol@example.com")}).want(t, 200, "enroll email")

	st, body, cookies := s.webForm("/app/login", "", url.Values{"username": {"carol"}, "password": {seedPassword}}, nil)
	m := challengeRE.FindStringSubmatch(body)
	if st != http.StatusOK || len(cookies) != 0 || m == nil || !strings.Contains(body, "mailed you a code") {
		t.Fatalf("the password step: %d %v %s", st, cookies, body)
	}
	code := s.lastCode("carol@example.com")
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	step := func(code string) (int, []*http.Cookie) {
		st, _, cookies := s.webForm("/app/login/code", "", url.Values{"username": {"carol"}, "challenge": {m[1]}, "code": {code}}, nil)
		return st, cookies
	}
	if st, cookies := step(wrong); st != http.StatusUnauthorized || len(cookies) != 0 {
		t.Fatalf("a wrong code: %d %v", st, cookies)
	}
	st, cookies = step(code)
	if st != http.StatusSeeOther || len(cookies) != 1 || cookies[0].Name != web.CookieName {
		t.Fatalf("the mailed code: %d %v", st, cookies)
	}
	if s.do("GET", "/sessions", cookies[0].Value, nil).Status != 200 {
		t.Fatal("the cookie's token is not a session")
	}
}

// The session cookie alone cannot close the account or change the
// password (both take the password), nor end another user's session.
func TestWebAccountFormsNeedThePassword(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	s.register("gina", seedPassword)
	s.register("hugo", seedPassword)
	tok, hugo := s.login("gina", seedPassword), s.login("hugo", seedPassword)
	sameSite := map[string]string{"Sec-Fetch-Site": "same-origin"}
	csrf := web.FormToken(tok)
	if st, _, cookies := s.webForm("/app/account/delete", tok, url.Values{"csrf": {csrf}, "password": {"Not-the-pass-1"}}, sameSite); st != http.StatusUnauthorized || len(cookies) != 0 {
		t.Fatalf("closing the account with a wrong password: %d %v", st, cookies)
	}
	if st, _, _ := s.webForm("/app/password", tok, url.Values{"csrf": {csrf}, "current": {"Not-the-pass-1"}, "new": {"Anoth3r-pass-123"}}, sameSite); st != http.StatusUnauthorized {
		t.Fatalf("changing the password with a wrong one: %d", st)
	}
	s.login("gina", seedPassword) // the password is unchanged, the account there
	hugoSession := s.do("GET", "/sessions", hugo, nil).want(t, 200, "hugo's sessions").List[0].(map[string]any)["id"].(string)
	if st, _, _ := s.webForm("/app/sessions/"+hugoSession+"/end", tok, url.Values{"csrf": {csrf}}, sameSite); st < 400 {
		t.Fatalf("ending another user's session: %d", st)
	}
	if st := s.do("GET", "/sessions", hugo, nil).Status; st != 200 {
		t.Fatalf("hugo's session after gina tried to end it: %d", st)
	}
}

// A signed-in page asked for without the cookie (as a navigation another
// site starts comes, SameSite=Strict) sends to the sign-in page without
// touching the cookie: another site cannot sign its user out. A cookie
// that is no session is forgotten.
func TestWebNoCookieClearsNothing(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	for _, path := range []string{"/app/records", "/app/account", "/app/2fa"} {
		st, _, cookies := s.webGet(path, "")
		if st != http.StatusSeeOther || len(cookies) != 0 {
			t.Fatalf("%s without a cookie: %d, cookies %v", path, st, cookies)
		}
		st, _, cookies = s.webGet(path, "not-a-token")
		if st != http.StatusSeeOther || len(cookies) != 1 || cookies[0].Name != web.CookieName || cookies[0].MaxAge >= 0 {
			t.Fatalf("%s with a cookie that is no session: %d, cookies %v", path, st, cookies)
		}
	}
}

var (
	secretRE = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`)
	setupRE  = regexp.MustCompile(`name="setup" value="([^"]+)"`)
	codeLIRE = regexp.MustCompile(`<li><code>([^<]+)</code></li>`)
)

// Every answer under /app is a page with the pages' headers (the strict
// policy, no framing): a path no route serves (404), a method its route
// does not take (405, with Allow) and a redirect included, not the API's
// problem+json; the API's own answers stay problem+json.
func TestWebErrorsArePages(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	id := strings.Repeat("0", 24)
	for _, c := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/app/nope", http.StatusNotFound, ""},
		{"GET", "/app/records/", http.StatusNotFound, ""},
		{"GET", "/app/records/" + id + "/nope", http.StatusNotFound, ""},
		{"HEAD", "/app/nope", http.StatusNotFound, ""},
		{"PUT", "/app/records", http.StatusMethodNotAllowed, "GET, POST"},
		{"DELETE", "/app/login", http.StatusMethodNotAllowed, "GET, POST"},
		{"GET", "/app/records/" + id + "/show", http.StatusMethodNotAllowed, "POST"},
		{"POST", "/app/", http.StatusMethodNotAllowed, "GET"},
		{"GET", "/app", http.StatusSeeOther, ""},
		{"GET", "/app/", http.StatusSeeOther, ""},
		{"GET", "/app/records", http.StatusSeeOther, ""},
	} {
		req, err := http.NewRequest(c.method, s.URL+c.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := webClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		h := res.Header
		if res.StatusCode != c.status || h.Get("Content-Security-Policy") != web.CSP || h.Get("X-Frame-Options") != "DENY" ||
			h.Get("Cross-Origin-Opener-Policy") != "same-origin" || h.Get("Cross-Origin-Resource-Policy") != "same-origin" ||
			h.Get("Referrer-Policy") != "same-origin" || !strings.HasPrefix(h.Get("Content-Type"), "text/html") ||
			h.Get("Allow") != c.allow {
			t.Fatalf("%s %s: %d %v %s", c.method, c.path, res.StatusCode, h, body)
		}
		if c.status >= 400 && c.method != "HEAD" && !strings.Contains(string(body), `role="alert"`) {
			t.Fatalf("%s %s: no message: %s", c.method, c.path, body)
		}
	}
	if r := s.do("GET", "/nope", "", nil); r.Status != 404 || r.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("the API's 404: %d %v", r.Status, r.Header)
	}
}

// Without Sec-Fetch-Site, a form's Origin must be the server's host with
// a scheme it may be served with (the server does not serve TLS itself:
// http, or https through a proxy that ended TLS); another scheme on the
// same host and port is refused and adds nothing.
func TestWebOriginSchemeIsChecked(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	s.register("mia", seedPassword)
	tok := s.login("mia", seedPassword)
	host := strings.TrimPrefix(s.URL, "http://")
	records := func() int { return len(s.do("GET", "/sensitive-data", tok, nil).want(t, 200, "list").List) }
	n := 0
	for _, c := range []struct {
		origin string
		ok     bool
	}{
		{"ftp://" + host, false},
		{"ws://" + host, false},
		{"null", false},
		{"http://" + host + ".evil.example", false},
		{"http://" + host, true},
		{"https://" + host, true},
	} {
		form := url.Values{"csrf": {web.FormToken(tok)}, "data_type": {"note"}, "value": {"from " + c.origin}}
		st, body, _ := s.webForm("/app/records", tok, form, map[string]string{"Origin": c.origin})
		if c.ok {
			n++
		}
		if c.ok && st != http.StatusSeeOther || !c.ok && st != http.StatusForbidden || records() != n {
			t.Fatalf("Origin %s: %d %s, %d records, want %d", c.origin, st, body, records(), n)
		}
	}
}
