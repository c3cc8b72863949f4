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
	"time"

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

// The records page lists records without reading a value (no record.read
// in the audit trail); showing one reads it, once.
func TestWebShowIsTheOnlyRead(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	s.register("dave", seedPassword)
	tok := s.login("dave", seedPassword)
	id := s.do("POST", "/sensitive-data", tok, map[string]string{"data_type": "card_number", "value": "4111111111111111"}).
		want(t, 200, "create").JSON["id"].(string)
	reads := func() int {
		n := 0
		for _, e := range s.do("GET", "/audit", tok, nil).want(t, 200, "audit").List {
			if e.(map[string]any)["type"] == "record.read" {
				n++
			}
		}
		return n
	}
	for range 3 {
		if st, body, _ := s.webGet("/app/records", tok); st != 200 || !strings.Contains(body, "card_number") || strings.Contains(body, "4111111111111111") {
			t.Fatalf("records page: %d %s", st, body)
		}
	}
	sameSite := map[string]string{"Sec-Fetch-Site": "same-origin"}
	st, body, _ := s.webForm("/app/records/"+id+"/show", tok, url.Values{"csrf": {web.FormToken(tok)}}, sameSite)
	if st != 200 || !strings.Contains(body, "4111111111111111") {
		t.Fatalf("show: %d %s", st, body)
	}
	// The trail takes asynchronous events within milliseconds: wait for
	// the show's, then count.
	for deadline := time.Now().Add(10 * time.Second); reads() == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
	}
	if n := reads(); n != 1 {
		t.Fatalf("%d record.read events after three lists and one show, want 1", n)
	}
}

// The session cookie alone cannot set up an authenticator through the
// web app: it takes the password, as the API does; and the QR code is
// given only for the setup's own id.
func TestWebTwoFactorSetupNeedsThePassword(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	s.register("frank", seedPassword)
	tok := s.login("frank", seedPassword)
	sameSite := map[string]string{"Sec-Fetch-Site": "same-origin"}
	form := url.Values{"csrf": {web.FormToken(tok)}, "password": {"Not-the-pass-1"}}
	if st, body, _ := s.webForm("/app/2fa/setup", tok, form, sameSite); st != http.StatusUnauthorized || strings.Contains(body, "totp-secret") {
		t.Fatalf("a setup with a wrong password: %d %s", st, body)
	}
	form.Set("password", seedPassword)
	st, body, _ := s.webForm("/app/2fa/setup", tok, form, sameSite)
	m := regexp.MustCompile(`/app/2fa/qr/([^"]+)"`).FindStringSubmatch(body)
	if st != 200 || m == nil || !strings.Contains(body, `id="totp-secret"`) {
		t.Fatalf("a setup with the password: %d %s", st, body)
	}
	if st, body, _ := s.webGet("/app/2fa/qr/"+m[1], tok); st != 200 || !strings.HasPrefix(body, "\x89PNG") {
		t.Fatalf("the QR code: %d", st)
	}
	if st, _, _ := s.webGet("/app/2fa/qr/"+m[1]+"x", tok); st < 400 {
		t.Fatalf("a QR code for a setup id that is not the setup's: %d", st)
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

// Turning on an authenticator through the web app (a pasted code's
// spaces are fine), making new recovery codes and turning two-factor off
// each take the password and a current second factor; the cookie alone
// does none of them.
func TestWebTwoFactorOffAndNewCodes(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	s.register("ivy", seedPassword)
	tok := s.login("ivy", seedPassword)
	sameSite := map[string]string{"Sec-Fetch-Site": "same-origin"}
	csrf := web.FormToken(tok)
	_, body, _ := s.webForm("/app/2fa/setup", tok, url.Values{"csrf": {csrf}, "password": {seedPassword}}, sameSite)
	secret, setup := secretRE.FindStringSubmatch(body), setupRE.FindStringSubmatch(body)
	if secret == nil || setup == nil {
		t.Fatalf("setup page: %s", body)
	}
	st, body, _ := s.webForm("/app/2fa/confirm", tok, url.Values{"csrf": {csrf}, "setup": {setup[1]}, "code": {" " + oathtool(t, secret[1], time.Now()) + " "}}, sameSite)
	first := codeLIRE.FindAllStringSubmatch(body, -1)
	if st != 200 || len(first) != 10 {
		t.Fatalf("confirm: %d %s", st, body)
	}
	twoFactor := func() bool {
		r := s.do("POST", "/login", "", map[string]string{"username": "ivy", "password": seedPassword}).want(t, 200, "login")
		return r.JSON["two_factor_required"] == true
	}
	if !twoFactor() {
		t.Fatal("two-factor is not on after the confirmation")
	}

	// New recovery codes: not with a wrong password, nor without a code.
	for _, f := range []url.Values{
		{"password": {"Not-the-pass-1"}, "code": {first[0][1]}},
		{"password": {seedPassword}},
	} {
		f.Set("csrf", csrf)
		if st, body, _ := s.webForm("/app/2fa/recovery-codes", tok, f, sameSite); st < 400 || codeLIRE.MatchString(body) {
			t.Fatalf("new recovery codes with %v: %d", f, st)
		}
	}
	st, body, _ = s.webForm("/app/2fa/recovery-codes", tok, url.Values{"csrf": {csrf}, "password": {seedPassword}, "code": {first[1][1]}}, sameSite)
	second := codeLIRE.FindAllStringSubmatch(body, -1)
	if st != 200 || len(second) != 10 || second[0][1] == first[0][1] {
		t.Fatalf("new recovery codes: %d %s", st, body)
	}

	// Off: not with the cookie and a wrong password, nor with an old
	// recovery code; with the password and a new code, off.
	for _, f := range []url.Values{
		{"password": {"Not-the-pass-1"}, "code": {second[0][1]}},
		{"password": {seedPassword}, "code": {first[2][1]}},
	} {
		f.Set("csrf", csrf)
		if st, _, _ := s.webForm("/app/2fa/off", tok, f, sameSite); st < 400 || !twoFactor() {
			t.Fatalf("turning off with %v: %d", f, st)
		}
	}
	if st, body, _ := s.webForm("/app/2fa/off", tok, url.Values{"csrf": {csrf}, "password": {seedPassword}, "code": {second[0][1]}}, sameSite); st != 200 || !strings.Contains(body, "is off") {
		t.Fatalf("turning off: %d %s", st, body)
	}
	if twoFactor() {
		t.Fatal("two-factor is still on")
	}
}

// Editing a record in the web app replaces its value (as the JSON API
// then reads it) with the session's form token only; a forged post, an
// invalid value and another user's record id change nothing (403, 422,
// 404). The edit page shows the type from the listing and never the value:
// opening it is no record.read in the audit trail.
func TestWebEditRecord(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	s.register("kate", seedPassword)
	s.register("liam", seedPassword)
	tok, liam := s.login("kate", seedPassword), s.login("liam", seedPassword)
	const card, newCard = "4111111111111111", "4000000000000002"
	id := s.do("POST", "/sensitive-data", tok, map[string]string{"data_type": "card_number", "value": card}).
		want(t, 200, "create").JSON["id"].(string)
	apiReads := 0
	value := func() (string, string) { // the record's type and value, through the API
		apiReads++
		r := s.do("GET", "/sensitive-data/"+id, tok, nil).want(t, 200, "read")
		return r.JSON["data_type"].(string), r.JSON["value"].(string)
	}
	unchanged := func(what string) {
		t.Helper()
		if typ, v := value(); typ != "card_number" || v != card {
			t.Fatalf("%s changed the record: %s %s", what, typ, v)
		}
	}
	sameSite := map[string]string{"Sec-Fetch-Site": "same-origin"}
	edit := "/app/records/" + id + "/edit"

	if st, body, _ := s.webGet("/app/records", tok); st != 200 || !strings.Contains(body, `href="`+edit+`"`) {
		t.Fatalf("the records page has no edit link: %d %s", st, body)
	}
	for range 3 {
		st, body, _ := s.webGet(edit, tok)
		if st != 200 || !strings.Contains(body, `id="data_type" name="data_type" required value="card_number"`) ||
			!strings.Contains(body, `<input id="value" name="value" required autocomplete="off">`) || strings.Contains(body, card) {
			t.Fatalf("the edit page: %d %s", st, body)
		}
	}

	for _, c := range []struct {
		name    string
		tok     string
		path    string
		form    url.Values
		headers map[string]string
		status  int
	}{
		{"no form token", tok, edit, url.Values{"data_type": {"card_number"}, "value": {newCard}}, sameSite, http.StatusForbidden},
		{"another session's form token", tok, edit, url.Values{"csrf": {web.FormToken(liam)}, "data_type": {"card_number"}, "value": {newCard}}, sameSite, http.StatusForbidden},
		{"a cross-site post", tok, edit, url.Values{"csrf": {web.FormToken(tok)}, "data_type": {"card_number"}, "value": {newCard}}, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"an invalid card number", tok, edit, url.Values{"csrf": {web.FormToken(tok)}, "data_type": {"card_number"}, "value": {"4111"}}, sameSite, http.StatusUnprocessableEntity},
		{"an empty value", tok, edit, url.Values{"csrf": {web.FormToken(tok)}, "data_type": {"card_number"}, "value": {""}}, sameSite, http.StatusUnprocessableEntity},
		{"another user's record", liam, edit, url.Values{"csrf": {web.FormToken(liam)}, "data_type": {"card_number"}, "value": {newCard}}, sameSite, http.StatusNotFound},
		{"no such record", tok, "/app/records/" + strings.Repeat("0", 24) + "/edit", url.Values{"csrf": {web.FormToken(tok)}, "data_type": {"card_number"}, "value": {newCard}}, sameSite, http.StatusNotFound},
	} {
		st, body, _ := s.webForm(c.path, c.tok, c.form, c.headers)
		if st != c.status || !strings.Contains(body, `role="alert"`) {
			t.Fatalf("%s: %d %s, want %d with a message", c.name, st, body, c.status)
		}
		unchanged(c.name)
	}
	// The invalid value's page is the edit form again, saying why.
	st, body, _ := s.webForm(edit, tok, url.Values{"csrf": {web.FormToken(tok)}, "data_type": {"card_number"}, "value": {"4111"}}, sameSite)
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, "exactly 16 digits") || !strings.Contains(body, `action="`+edit+`"`) {
		t.Fatalf("an invalid card number: %d %s", st, body)
	}
	unchanged("an invalid card number")
	// Another user's record id has no edit page either, and says nothing of it.
	if st, body, _ := s.webGet(edit, liam); st != http.StatusNotFound || strings.Contains(body, `action="`+edit+`"`) {
		t.Fatalf("liam's edit page for kate's record: %d %s", st, body)
	}

	// The genuine form replaces the value, and the type with it.
	st, _, _ = s.webForm(edit, tok, url.Values{"csrf": {web.FormToken(tok)}, "data_type": {"card_number"}, "value": {newCard}}, sameSite)
	if st != http.StatusSeeOther {
		t.Fatalf("the genuine edit: %d", st)
	}
	if typ, v := value(); typ != "card_number" || v != newCard {
		t.Fatalf("after the edit: %s %s", typ, v)
	}
	if st, _, _ := s.webForm(edit, tok, url.Values{"csrf": {web.FormToken(tok)}, "data_type": {"note"}, "value": {"call the bank"}}, sameSite); st != http.StatusSeeOther {
		t.Fatalf("changing the type: %d", st)
	}
	if typ, v := value(); typ != "note" || v != "call the bank" {
		t.Fatalf("after changing the type: %s %s", typ, v)
	}

	// Every record.read is one of the API's reads above: none is the edit
	// page's. (The trail takes asynchronous events within milliseconds.)
	reads := func() int {
		n := 0
		for _, e := range s.do("GET", "/audit", tok, nil).want(t, 200, "audit").List {
			if e.(map[string]any)["type"] == "record.read" {
				n++
			}
		}
		return n
	}
	for deadline := time.Now().Add(10 * time.Second); reads() < apiReads && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
	}
	if n := reads(); n != apiReads {
		t.Fatalf("%d record.read events, want the API's %d", n, apiReads)
	}
}

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

// A wrong code when turning on an authenticator shows the setup page
// again with the same QR code, and, since the key's text is not kept
// for the page (no service call returns it again), says how to see it:
// start again. Two-factor stays off.
func TestWebTOTPWrongConfirmCode(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	s.register("nora", seedPassword)
	tok := s.login("nora", seedPassword)
	sameSite := map[string]string{"Sec-Fetch-Site": "same-origin"}
	csrf := web.FormToken(tok)
	_, body, _ := s.webForm("/app/2fa/setup", tok, url.Values{"csrf": {csrf}, "password": {seedPassword}}, sameSite)
	secret, setup := secretRE.FindStringSubmatch(body), setupRE.FindStringSubmatch(body)
	if secret == nil || setup == nil || !strings.Contains(body, "type the key below") {
		t.Fatalf("setup page: %s", body)
	}
	wrong := "000000"
	if oathtool(t, secret[1], time.Now()) == wrong {
		wrong = "111111"
	}
	st, body, _ := s.webForm("/app/2fa/confirm", tok, url.Values{"csrf": {csrf}, "setup": {setup[1]}, "code": {wrong}}, sameSite)
	if st < 400 || !strings.Contains(body, `role="alert"`) || !strings.Contains(body, `src="/app/2fa/qr/`+setup[1]+`"`) ||
		strings.Contains(body, "type the key below") || !strings.Contains(body, `<a href="/app/2fa">start again</a>`) {
		t.Fatalf("a wrong code: %d %s", st, body)
	}
	if st, body, _ := s.webGet("/app/2fa/qr/"+setup[1], tok); st != 200 || !strings.HasPrefix(body, "\x89PNG") {
		t.Fatalf("the QR code after a wrong code: %d", st)
	}
	if r := s.do("POST", "/login", "", map[string]string{"username": "nora", "password": seedPassword}).want(t, 200, "login"); r.JSON["two_factor_required"] == true {
		t.Fatal("two-factor is on after a wrong code")
	}
}

// An account whose second factor is mailed codes can make its changes
// from the web app: "Mail me a code" mails one (only with the form token)
// and the change takes it. Pages ask for a current code only while a
// second factor is on.
func TestWebMailMeACode(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	s.register("mia", seedPassword)
	tok := s.login("mia", seedPassword)
	csrf := s.csrfOf(tok)
	same := map[string]string{"Sec-Fetch-Site": "same-origin"}
	if _, body, _ := s.webGet("/app/account", tok); strings.Contains(body, "Mail me a code") || strings.Contains(body, `id="pw-code"`) {
		t.Fatal("an account without two-factor is offered codes")
	}
	s.do("POST", "/send-otp", tok, map[string]string{"username": "mia"}).want(t, 200, "enroll email")
	s.do("POST", "/verify-otp", tok, map[string]string{"username": "mia", "otp": s.lastCode("mia@example.com")}).want(t, 200, "enroll")
	sent := len(s.mails("mia@example.com"))

	_, body, _ := s.webGet("/app/account", tok)
	if !strings.Contains(body, "Mail me a code") || !strings.Contains(body, `id="pw-code"`) {
		t.Fatalf("the account page of an email-2FA account: %s", body)
	}
	if st, _, _ := s.webForm("/app/mail-code", tok, url.Values{"page": {"account"}}, same); st != http.StatusForbidden {
		t.Fatalf("mail-code without the form token: %d", st)
	}
	if n := len(s.mails("mia@example.com")); n != sent {
		t.Fatalf("%d mails sent by a forged form", n-sent)
	}
	st, body, _ := s.webForm("/app/mail-code", tok, url.Values{"csrf": {csrf}, "page": {"account"}}, same)
	if st != 200 || !strings.Contains(body, "We mailed you a code") || !strings.Contains(body, `id="pw-code"`) {
		t.Fatalf("mail-code: %d %s", st, body)
	}
	const next = "N3w-passw0rd!!"
	st, body, _ = s.webForm("/app/password", tok, url.Values{"csrf": {csrf}, "current": {seedPassword}, "new": {next},
		"code": {s.lastCode("mia@example.com")}}, same)
	if st != 200 || !strings.Contains(body, "Your password is changed") {
		t.Fatalf("change with the mailed code: %d %s", st, body)
	}
	s.do("POST", "/login", "", map[string]string{"username": "mia", "password": next}).want(t, 200, "the new password")
}
