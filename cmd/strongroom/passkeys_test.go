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
	"testing"

	"github.com/strongroom/strongroom/internal/softpasskey"
	"github.com/strongroom/strongroom/web"
)

// The passkey tests play the browser with a software authenticator, over
// real sockets: the server's origin is http://localhost:<port> (no
// STRONGROOM_PUBLIC_URL), as a browser on the same machine would say.

func (s *testServer) origin() string {
	return "http://localhost:" + s.URL[strings.LastIndex(s.URL, ":")+1:]
}

func (s *testServer) authenticator() *softpasskey.Authenticator {
	return &softpasskey.Authenticator{Origin: s.origin()}
}

// addPasskey registers a passkey of a for the session tok, with the
// password, and returns it and the answer.
func (s *testServer) addPasskey(a *softpasskey.Authenticator, tok, name string) (*softpasskey.Credential, response) {
	s.t.Helper()
	opts := s.do("POST", "/passkeys/register/options", tok, map[string]string{"password": seedPassword}).want(s.t, 200, "register options")
	cred, c, err := a.Create([]byte(opts.Raw))
	if err != nil {
		s.t.Fatal(err)
	}
	return c, s.do("POST", "/passkeys/register", tok, map[string]any{"name": name, "credential": json.RawMessage(cred)})
}

// withPasskey registers username, signs in and adds a passkey named name
// with a new authenticator: the session's token, the authenticator and
// the passkey.
func (s *testServer) withPasskey(username, name string) (string, *softpasskey.Authenticator, *softpasskey.Credential) {
	s.t.Helper()
	s.register(username, seedPassword)
	tok := s.login(username, seedPassword)
	a := s.authenticator()
	c, r := s.addPasskey(a, tok, name)
	r.want(s.t, 201, "add a passkey")
	return tok, a, c
}

// passkeyLogin signs in with c of a and returns the answer.
func (s *testServer) passkeyLogin(a *softpasskey.Authenticator, c *softpasskey.Credential) response {
	s.t.Helper()
	opts := s.do("POST", "/passkeys/login/options", "", nil).want(s.t, 200, "login options")
	answer, err := a.Get([]byte(opts.Raw), c)
	if err != nil {
		s.t.Fatal(err)
	}
	return s.do("POST", "/passkeys/login", "", map[string]any{"credential": json.RawMessage(answer)})
}

func (s *testServer) passkeyCount(tok string) int {
	s.t.Helper()
	return len(s.do("GET", "/passkeys", tok, nil).want(s.t, 200, "list passkeys").List)
}

// A passkey added while signed in (with the password) signs in alone:
// no password, no code; the password keeps working; the trail has both.
func TestPasskeySignIn(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, func(t *testing.T, cfg Config) {
		s := startServer(t, cfg)
		s.register("alice", seedPassword)
		tok := s.login("alice", seedPassword)
		a := s.authenticator()
		c, r := s.addPasskey(a, tok, "Laptop")
		r.want(t, 201, "add passkey")
		if r.JSON["name"] != "Laptop" || r.JSON["id"] == "" || r.JSON["last_used_at"] != nil {
			t.Fatalf("added: %s", r.Raw)
		}
		for _, k := range []string{"public_key", "credential_id", "PublicKey"} {
			if strings.Contains(r.Raw, k) {
				t.Fatalf("the answer shows %s: %s", k, r.Raw)
			}
		}
		if strings.Contains(s.mails("alice@example.com")[len(s.mails("alice@example.com"))-1], "passkey was added") == false {
			t.Fatal("no notice mailed for the new passkey")
		}
		r = s.passkeyLogin(a, c).want(t, 200, "sign in with the passkey")
		ptok, _ := r.JSON["access_token"].(string)
		if ptok == "" || r.JSON["two_factor_required"] != nil {
			t.Fatalf("passkey sign-in answered %s", r.Raw)
		}
		s.do("GET", "/sessions", ptok, nil).want(t, 200, "the passkey's token")
		list := s.do("GET", "/passkeys", ptok, nil).want(t, 200, "list").List
		if len(list) != 1 || list[0].(map[string]any)["last_used_at"] == nil {
			t.Fatalf("passkeys after use: %v", list)
		}
		s.login("alice", seedPassword) // the password is untouched
		events, _ := s.auditList("/audit", ptok)
		var types []string
		for _, e := range events {
			types = append(types, e.Type)
		}
		if got := strings.Join(types, " "); !strings.HasPrefix(got, "login.success login.success passkey.added login.success") {
			t.Fatalf("events, newest first: %s", got)
		}
	})
}

// What a stolen bearer token gives: no passkey of the thief's. Adding one
// needs the password (and the second factor while one is on), and only
// the session that asked for the options may finish, once.
func TestPasskeyRegistrationNeedsThePassword(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	s.register("alice", seedPassword)
	tok, stolen := s.login("alice", seedPassword), s.login("alice", seedPassword)
	s.do("POST", "/passkeys/register/options", stolen, map[string]string{}).want(t, 422, "no password")
	s.do("POST", "/passkeys/register/options", stolen, map[string]string{"password": "Wrong!pass1"}).want(t, 401, "wrong password")
	s.do("POST", "/passkeys/register/options", "", map[string]string{"password": seedPassword}).want(t, 401, "no token")

	// The owner's options, finished by the thief's session: refused.
	a := s.authenticator()
	opts := s.do("POST", "/passkeys/register/options", tok, map[string]string{"password": seedPassword}).want(t, 200, "options")
	cred, _, err := a.Create([]byte(opts.Raw))
	if err != nil {
		t.Fatal(err)
	}
	s.do("POST", "/passkeys/register", stolen, map[string]any{"credential": json.RawMessage(cred)}).want(t, 404, "another session's options")
	// Nor can that try spend the owner's challenge: the owner finishes,
	// once.
	s.do("POST", "/passkeys/register", tok, map[string]any{"credential": json.RawMessage(cred)}).want(t, 201, "the owner's answer")
	s.do("POST", "/passkeys/register", tok, map[string]any{"credential": json.RawMessage(cred)}).want(t, 404, "a spent challenge")
	if n := s.passkeyCount(tok); n != 1 {
		t.Fatalf("%d passkeys stored, want 1", n)
	}
	// An answer made for another site, or without user verification, is refused.
	for _, bad := range []*softpasskey.Authenticator{{Origin: "http://evil.localhost" + s.URL[strings.LastIndex(s.URL, ":"):]},
		{Origin: s.origin(), NoUserVerification: true}} {
		_, r := s.addPasskey(bad, tok, "bad")
		r.want(t, 401, fmt.Sprintf("answer from %+v", *bad))
	}
	// Not a credential at all.
	s.do("POST", "/passkeys/register", tok, map[string]any{"credential": map[string]string{"id": "x"}}).want(t, 422, "junk credential")
	s.do("POST", "/passkeys/register", tok, map[string]any{"name": strings.Repeat("n", 65), "credential": json.RawMessage(cred)}).
		want(t, 422, "a long name")
	if n := s.passkeyCount(tok); n != 1 {
		t.Fatalf("%d passkeys stored, want 1", n)
	}
	// With two-factor on, the password alone is not enough either.
	s.do("POST", "/send-otp", tok, map[string]string{"username": "alice"}).want(t, 200, "enroll email")
	s.do("POST", "/verify-otp", tok, map[string]string{"username": "alice", "otp": s.lastCode("alice@example.com")}).want(t, 200, "enroll")
	s.do("POST", "/passkeys/register/options", tok, map[string]string{"password": seedPassword}).want(t, 422, "no second factor")
}

// A sign-in answer works once; one made for another origin, without user
// verification, with a counter set back, with another key or under
// another user's handle does not work at all; each failure counts in the
// account's lockout, like a wrong password. The right passkey is not
// refused by the lock (it is no guess): it signs in and lifts it.
func TestPasskeySignInRefusals(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	s.register("alice", seedPassword)
	s.register("mallory", seedPassword)
	tok := s.login("alice", seedPassword)
	a := s.authenticator()
	c, r := s.addPasskey(a, tok, "Phone")
	r.want(t, 201, "add")

	opts := s.do("POST", "/passkeys/login/options", "", nil).want(t, 200, "options")
	answer, err := a.Get([]byte(opts.Raw), c)
	if err != nil {
		t.Fatal(err)
	}
	s.do("POST", "/passkeys/login", "", map[string]any{"credential": json.RawMessage(answer)}).want(t, 200, "first use")
	s.do("POST", "/passkeys/login", "", map[string]any{"credential": json.RawMessage(answer)}).want(t, 401, "the same answer again")
	// A challenge the server never gave.
	forged, _ := a.Sign("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", c)
	s.do("POST", "/passkeys/login", "", map[string]any{"credential": json.RawMessage(forged)}).want(t, 401, "an unknown challenge")

	// mallory's own passkey, presented with alice's credential id.
	m := s.authenticator()
	mc, r := s.addPasskey(m, s.login("mallory", seedPassword), "Mallory's")
	r.want(t, 201, "mallory's passkey")
	fake := *mc
	fake.ID = c.ID
	s.passkeyLogin(m, &fake).want(t, 401, "alice's credential id with mallory's key and handle")
	fake = *c
	fake.Key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s.passkeyLogin(a, &fake).want(t, 401, "alice's credential, another key")
	s.passkeyLogin(&softpasskey.Authenticator{Origin: "http://localhost:1"}, c).want(t, 401, "another origin")
	s.passkeyLogin(&softpasskey.Authenticator{Origin: s.origin(), NoUserVerification: true}, c).want(t, 401, "no user verification")
	back := *c
	back.Counter = 0 // signs with 1, the server has seen more
	s.passkeyLogin(a, &back).want(t, 401, "a counter set back: a cloned key")

	// Five failures (another key, origin, no UV, counter, and alice's id
	// under mallory's key) lock alice's account, for the password too.
	s.do("POST", "/login", "", map[string]string{"username": "alice", "password": seedPassword}).want(t, 429, "password after 5 passkey failures")
	if !strings.Contains(s.mails("alice@example.com")[len(s.mails("alice@example.com"))-1], "unlock") {
		t.Fatal("the lock mailed no unlock code")
	}
	s.passkeyLogin(a, c).want(t, 200, "the right passkey on a locked account")
	s.login("alice", seedPassword) // the lock is lifted
	// mallory is not locked by any of it.
	s.passkeyLogin(m, mc).want(t, 200, "mallory's own passkey")
}

// Removing a passkey needs the password, ends its use at once, and is the
// owner's alone; an account's deletion takes its passkeys.
func TestPasskeyRemoval(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	s.register("alice", seedPassword)
	s.register("bob", seedPassword)
	tok, bob := s.login("alice", seedPassword), s.login("bob", seedPassword)
	a := s.authenticator()
	c1, r := s.addPasskey(a, tok, "One")
	id1, _ := r.want(t, 201, "add one").JSON["id"].(string)
	c2, r := s.addPasskey(a, tok, "Two")
	r.want(t, 201, "add two")

	s.do("DELETE", "/passkeys/"+id1, tok, map[string]string{}).want(t, 422, "removal without the password")
	s.do("DELETE", "/passkeys/"+id1, tok, map[string]string{"password": "Wrong!pass1"}).want(t, 401, "removal with a wrong password")
	s.do("DELETE", "/passkeys/"+id1, bob, map[string]string{"password": seedPassword}).want(t, 404, "another user's passkey")
	s.passkeyLogin(a, c1).want(t, 200, "passkey one before removal")
	s.do("DELETE", "/passkeys/"+id1, tok, map[string]string{"password": seedPassword}).want(t, 200, "removal")
	s.passkeyLogin(a, c1).want(t, 401, "a removed passkey")
	if n := s.passkeyCount(tok); n != 1 {
		t.Fatalf("%d passkeys left, want 1", n)
	}
	s.do("DELETE", "/account", tok, map[string]string{"password": seedPassword}).want(t, 200, "delete the account")
	s.passkeyLogin(a, c2).want(t, 401, "a deleted account's passkey")
}

// The web app's passkey forms: options need the password and the form
// token, a site of another origin gets none, and the browser's answers
// add a passkey and sign in with it (the cookie set as for a password).
func TestWebPasskeys(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	s.register("alice", seedPassword)
	tok := s.login("alice", seedPassword)
	csrf := s.csrfOf(tok)
	same := map[string]string{"Sec-Fetch-Site": "same-origin"}

	// The app's one script and stylesheet come with the pages' headers.
	for _, f := range []struct{ path, typ string }{{"/app/passkey.js", "text/javascript"}, {"/app/app.css", "text/css"}} {
		res, err := http.Get(s.URL + f.path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), f.typ) ||
			res.Header.Get("Content-Security-Policy") != web.CSP || res.Header.Get("X-Frame-Options") != "DENY" {
			t.Fatalf("%s: %d %v", f.path, res.StatusCode, res.Header)
		}
	}
	st, body, _ := s.webForm("/app/passkeys/options", tok, url.Values{"csrf": {csrf}}, same)
	if st != 401 || !strings.Contains(body, `"error"`) {
		t.Fatalf("options without the password: %d %s", st, body)
	}
	st, _, _ = s.webForm("/app/passkeys/options", tok, url.Values{"password": {seedPassword}}, same)
	if st != 403 {
		t.Fatalf("options without the form token: %d", st)
	}
	st, _, _ = s.webForm("/app/passkeys/options", tok, url.Values{"csrf": {csrf}, "password": {seedPassword}},
		map[string]string{"Sec-Fetch-Site": "cross-site"})
	if st != 403 {
		t.Fatalf("options asked by another site: %d", st)
	}
	st, opts, _ := s.webForm("/app/passkeys/options", tok, url.Values{"csrf": {csrf}, "password": {seedPassword}}, same)
	if st != 200 {
		t.Fatalf("options: %d %s", st, opts)
	}
	a := s.authenticator()
	cred, c, err := a.Create([]byte(opts))
	if err != nil {
		t.Fatal(err)
	}
	st, body, _ = s.webForm("/app/passkeys", tok, url.Values{"csrf": {csrf}, "name": {"Work laptop"}, "credential": {string(cred)}}, same)
	if st != 200 || !strings.Contains(body, "Work laptop") || strings.Contains(body, "no passkeys") {
		t.Fatalf("add: %d %s", st, body)
	}

	st, _, _ = s.webForm("/app/login/passkey/options", "", nil, map[string]string{"Sec-Fetch-Site": "cross-site"})
	if st != 403 {
		t.Fatalf("sign-in options asked by another site: %d", st)
	}
	st, opts, _ = s.webForm("/app/login/passkey/options", "", nil, same)
	if st != 200 {
		t.Fatalf("sign-in options: %d %s", st, opts)
	}
	answer, err := a.Get([]byte(opts), c)
	if err != nil {
		t.Fatal(err)
	}
	st, _, cookies := s.webForm("/app/login/passkey", "", url.Values{"credential": {string(answer)}}, same)
	if st != http.StatusSeeOther || len(cookies) != 1 || cookies[0].Name != web.CookieName || !cookies[0].HttpOnly || !cookies[0].Secure {
		t.Fatalf("passkey sign-in: %d %v", st, cookies)
	}
	if st, body, _ = s.webGet("/app/passkeys", cookies[0].Value); st != 200 || !strings.Contains(body, "Signed in as <strong id=\"signed-in-as\">alice") {
		t.Fatalf("passkeys page of the passkey's session: %d", st)
	}
	st, body, _ = s.webForm("/app/login/passkey", "", url.Values{"credential": {string(answer)}}, same)
	if st != 401 || !strings.Contains(body, "passkey sign-in failed") {
		t.Fatalf("the same answer again: %d", st)
	}
}
