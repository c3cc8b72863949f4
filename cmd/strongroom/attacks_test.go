package main

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestBadInput: every malformed request gets a clear 4xx with a detail and
// changes nothing.
func TestBadInput(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, testBadInput)
}

func testBadInput(t *testing.T, cfg Config) {
	s := startServer(t, cfg)
	s.register("alice", seedPassword)
	tok := s.login("alice", seedPassword)
	rec := s.do("POST", "/sensitive-data", tok, map[string]string{"data_type": "card_number", "value": seedCard}).want(t, 200, "create")
	id := rec.JSON["id"].(string)

	big := `{"data_type":"note","value":"` + strings.Repeat("a", 70<<10) + `"}`
	cases := []struct {
		name, method, path, body string
		status                   int
		field                    string // named in the detail
	}{
		{"malformed JSON", "POST", "/register", `{"username": "bob", "password": "Secr3t!pw`, 400, ""},
		{"operator injection", "POST", "/login", `{"username": {"$ne": null}, "password": {"$ne": null}}`, 422, "body.username"},
		{"number for string", "POST", "/register", `{"username": 12, "email": "b@example.com", "password": "Str0ng!pass"}`, 422, "body.username"},
		{"unknown field", "POST", "/register", `{"username": "bob", "email": "b@example.com", "password": "Str0ng!pass", "is_admin": true}`, 422, "body.is_admin"},
		{"missing field", "POST", "/register", `{"username": "bob", "password": "Str0ng!pass"}`, 422, "email"},
		{"weak password", "POST", "/register", `{"username": "bob", "email": "b@example.com", "password": "password"}`, 422, "password"},
		{"bad email", "POST", "/register", `{"username": "bob", "email": "not-an-email", "password": "Str0ng!pass"}`, 422, "email"},
		{"bad username", "POST", "/register", `{"username": "b o b", "email": "b@example.com", "password": "Str0ng!pass"}`, 422, "username"},
		{"taken username", "POST", "/register", `{"username": "ALICE", "email": "other@example.com", "password": "Str0ng!pass"}`, 409, "username"},
		{"taken email", "POST", "/register", `{"username": "bob", "email": "alice@example.com", "password": "Str0ng!pass"}`, 409, "email"},
		{"body over 64 KiB", "POST", "/sensitive-data", big, 413, ""},
		{"short card", "POST", "/sensitive-data", `{"data_type": "card_number", "value": "123456781234567"}`, 422, "card_number"},
		{"letters in card", "POST", "/sensitive-data", `{"data_type": "card_number", "value": "12345678123456ab"}`, 422, "card_number"},
		{"bad data_type", "POST", "/sensitive-data", `{"data_type": "Card Number!", "value": "x"}`, 422, "data_type"},
		{"empty value", "POST", "/sensitive-data", `{"data_type": "note", "value": ""}`, 422, "value"},
		{"array body", "POST", "/sensitive-data", `[1, 2]`, 422, "body"},
		{"id not an id (get)", "GET", "/sensitive-data/123", "", 422, "path.id"},
		{"id not an id (put)", "PUT", "/sensitive-data/zzzzzzzzzzzzzzzzzzzzzzzz", `{"data_type": "card_number", "value": "` + seedCard2 + `"}`, 422, "path.id"},
		{"id not an id (delete)", "DELETE", "/sensitive-data/' OR 1=1 --", "", 422, "path.id"},
		{"otp not digits", "POST", "/verify-otp", `{"username": "alice", "otp": "abcdef"}`, 422, "otp"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body any
			if c.body != "" {
				body = c.body
			}
			r := s.do(c.method, strings.ReplaceAll(c.path, " ", "%20"), tok, body).want(t, c.status, c.name)
			if d := r.JSON["detail"].(string); !strings.Contains(d, c.field) {
				t.Errorf("detail %q does not name %q", d, c.field)
			}
			for _, secret := range []string{"Str0ng!pass", "Secr3t!pw", "123456781234567", strings.Repeat("a", 100)} {
				if strings.Contains(r.Raw, secret) {
					t.Errorf("error answer echoes the input: %s", r.Raw)
				}
			}
		})
	}
	// Nothing changed: alice still has exactly her one record, bob does not exist.
	s.do("GET", "/sensitive-data", tok, nil).want(t, 200, "list").
		wantBody(t, `[{"id": "`+id+`", "data_type": "card_number", "value": "`+seedCard+`"}]`)
	s.do("POST", "/login", "", map[string]string{"username": "bob", "password": "Str0ng!pass"}).want(t, 401, "bob was not created")
}

func TestOtherUsersRecordsAreNotFound(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, testOtherUsersRecordsAreNotFound)
}

func testOtherUsersRecordsAreNotFound(t *testing.T, cfg Config) {
	s := startServer(t, cfg)
	s.register("alice", seedPassword)
	s.register("mallory", seedPassword)
	alice, mallory := s.login("alice", seedPassword), s.login("mallory", seedPassword)
	id := s.do("POST", "/sensitive-data", alice, map[string]string{"data_type": "card_number", "value": seedCard}).want(t, 200, "create").JSON["id"].(string)
	missing := "0123456789abcdef01234567"
	for _, target := range []string{id, missing} {
		a := s.do("GET", "/sensitive-data/"+target, mallory, nil).want(t, 404, "get")
		s.do("PUT", "/sensitive-data/"+target, mallory, map[string]string{"data_type": "card_number", "value": seedCard2}).want(t, 404, "put")
		s.do("DELETE", "/sensitive-data/"+target, mallory, nil).want(t, 404, "delete")
		if target == id && a.Raw != s.do("GET", "/sensitive-data/"+missing, mallory, nil).Raw {
			t.Fatal("another user's record and a missing one answer differently")
		}
	}
	if r := s.do("GET", "/sensitive-data", mallory, nil).want(t, 200, "list"); len(r.List) != 0 {
		t.Fatalf("mallory lists %s", r.Raw)
	}
	s.do("GET", "/sensitive-data/"+id, alice, nil).want(t, 200, "alice's record untouched").
		wantBody(t, `{"id": "`+id+`", "data_type": "card_number", "value": "`+seedCard+`"}`)
}

func TestAuthRequired(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig(t, t.TempDir()))
	s.register("admin", seedPassword)
	s.register("user", seedPassword)
	user := s.login("user", seedPassword)
	for _, bearer := range []string{"", "not-a-token", user[:len(user)-2] + "xx"} {
		r := s.do("GET", "/sensitive-data", bearer, nil).want(t, 401, "list with token "+bearer)
		if r.Header.Get("WWW-Authenticate") == "" {
			t.Error("401 without WWW-Authenticate")
		}
		s.do("POST", "/sensitive-data", bearer, map[string]string{"data_type": "x", "value": "y"}).want(t, 401, "create")
		s.do("POST", "/rotate-master-key", bearer, nil).want(t, 401, "rotate")
	}
	s.do("POST", "/rotate-master-key", user, nil).want(t, 403, "rotate by a non-admin")
	s.do("GET", "/rotate-master-key", user, nil).want(t, 403, "rotation status by a non-admin")
	if !strings.Contains(s.do("POST", "/login", "", map[string]string{"username": "user", "password": "Wrong!pass1"}).want(t, 401, "wrong password").Raw,
		"incorrect username or password") {
		t.Fatal("wrong password message")
	}
	a := s.do("POST", "/login", "", map[string]string{"username": "nobody", "password": "Wrong!pass1"}).want(t, 401, "unknown user")
	b := s.do("POST", "/login", "", map[string]string{"username": "user", "password": "Wrong!pass1"}).want(t, 401, "wrong password")
	if a.Raw != b.Raw {
		t.Fatalf("unknown user and wrong password answer differently:\n%s\n%s", a.Raw, b.Raw)
	}
}

func TestLockout(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, testLockout)
}

func testLockout(t *testing.T, cfg Config) {
	s := startServer(t, cfg)
	s.register("victim", seedPassword)
	for i := 0; i < 5; i++ {
		s.do("POST", "/login", "", map[string]string{"username": "victim", "password": "Wrong!pass1"}).want(t, 401, fmt.Sprintf("guess %d", i+1))
	}
	r := s.do("POST", "/login", "", map[string]string{"username": "victim", "password": seedPassword}).want(t, 429, "right password while locked")
	if sec, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || sec < 14*60 || sec > 15*60 {
		t.Fatalf("Retry-After = %q, want about 900 seconds", r.Header.Get("Retry-After"))
	}
	if r.JSON["access_token"] != nil {
		t.Fatal("a locked account got a token")
	}
}

// Fifty parallel wrong guesses: no more than five are ever checked.
func TestParallelGuessesCannotExceedLimit(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, testParallelGuessesCannotExceedLimit)
}

func testParallelGuessesCannotExceedLimit(t *testing.T, cfg Config) {
	s := startServer(t, cfg)
	s.register("target", seedPassword)
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := s.do("POST", "/login", "", map[string]string{"username": "target", "password": fmt.Sprintf("Wrong!pass%d", i)})
			mu.Lock()
			counts[r.Status]++
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	// At most 5 guesses are checked (401); the rest are refused, locked
	// (429) or, when the hashing pool is full, turned away before anything
	// is counted (503).
	if counts[401] > 5 || counts[401]+counts[429]+counts[503] != 50 {
		t.Fatalf("answers %v: want at most 5 checked guesses (401) and the rest refused (429/503)", counts)
	}
	u, err := s.Store.UserByUsername(context.Background(), "target")
	if err != nil || u.FailedAttempts != 5 {
		t.Fatalf("failed_attempts = %d (%v), want 5", u.FailedAttempts, err)
	}
}

func TestTwoFactorRefusals(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, testTwoFactorRefusals)
}

func testTwoFactorRefusals(t *testing.T, cfg Config) {
	s := startServer(t, cfg)
	s.register("carol", seedPassword)
	s.register("dave", seedPassword)
	carol, dave := s.login("carol", seedPassword), s.login("dave", seedPassword)

	// Without a bearer token and without a login challenge, no code is
	// mailed and none is accepted, with one answer for known and unknown
	// users.
	a := s.do("POST", "/send-otp", "", map[string]string{"username": "carol"}).want(t, 401, "send-otp without a challenge")
	b := s.do("POST", "/send-otp", "", map[string]string{"username": "nobody"}).want(t, 401, "send-otp for an unknown user")
	if a.Raw != b.Raw {
		t.Fatalf("send-otp answers a known and an unknown user differently:\n%s\n%s", a.Raw, b.Raw)
	}
	s.do("POST", "/verify-otp", "", map[string]string{"username": "carol", "otp": "123456"}).want(t, 401, "verify without challenge")
	s.do("POST", "/verify-otp", "", map[string]string{"username": "nobody", "otp": "123456"}).want(t, 401, "verify for unknown user")
	if n := len(s.mails("carol@example.com")); n != 0 {
		t.Fatalf("%d mails to carol without a login or token", n)
	}

	// A token cannot enroll another account.
	s.do("POST", "/send-otp", dave, map[string]string{"username": "carol"}).want(t, 403, "enroll another user")

	// Five wrong tries burn the code: the right one fails afterwards.
	s.do("POST", "/send-otp", carol, map[string]string{"username": "carol"}).want(t, 200, "enroll")
	code := s.lastCode("carol@example.com")
	wrong := fmt.Sprintf("%06d", (mustAtoi(t, code)+1)%1_000_000)
	for i := 0; i < 5; i++ {
		s.do("POST", "/verify-otp", carol, map[string]string{"username": "carol", "otp": wrong}).want(t, 401, "wrong code")
	}
	s.do("POST", "/verify-otp", carol, map[string]string{"username": "carol", "otp": code}).want(t, 401, "right code after five wrong ones")
	if u, _ := s.Store.UserByUsername(context.Background(), "carol"); u.TwoFactorEnabled {
		t.Fatal("2FA turned on by a burned code")
	}

	// A fresh code works once; an enrollment code is no login code.
	s.do("POST", "/send-otp", carol, map[string]string{"username": "carol"}).want(t, 200, "enroll again")
	code = s.lastCode("carol@example.com")
	s.do("POST", "/verify-otp", "", map[string]string{"username": "carol", "otp": code}).want(t, 401, "enrollment code used as a login code")
	s.do("POST", "/verify-otp", carol, map[string]string{"username": "carol", "otp": code}).want(t, 200, "enroll")
	// Replayed, it is refused: with a token, because 2FA is now on; and as
	// a current factor for a change, because it was used.
	s.do("POST", "/verify-otp", carol, map[string]string{"username": "carol", "otp": code}).want(t, 409, "enrollment code replay")
	if r := s.do("POST", "/2fa/totp/setup", carol, map[string]string{"password": seedPassword, "otp": code}).want(t, 401, "a used enrollment code for a change"); !strings.Contains(r.Raw, "one-time code") {
		t.Fatalf("refused for another reason: %s", r.Raw)
	}

	// An expired login challenge cannot be re-sent: wrong password mails nothing.
	s.do("POST", "/login", "", map[string]string{"username": "carol", "password": "Wrong!pass1"}).want(t, 401, "wrong password")
	if got := s.lastCode("carol@example.com"); got != code {
		t.Fatal("a wrong password caused a mail")
	}
}

func TestSendOTPIsRateLimited(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig(t, t.TempDir()))
	limited := false
	for i := 0; i < 30 && !limited; i++ {
		r := s.do("POST", "/send-otp", "", map[string]string{"username": fmt.Sprintf("nobody%d", i)})
		if r.Status == 429 {
			limited = true
			if r.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		} else {
			r.want(t, 401, "send-otp without a challenge")
		}
	}
	if !limited {
		t.Fatal("30 send-otp calls from one address in a row were all accepted")
	}
}

func mustAtoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Behind a trusted reverse proxy, each client is limited on its own
// address (from X-Forwarded-For), not all together on the proxy's.
func TestRateLimitsBehindTrustedProxy(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, t.TempDir())
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	s := startServer(t, cfg)
	send := func(xff string) int {
		req, _ := http.NewRequest("POST", s.URL+"/send-otp", strings.NewReader(`{"username":"nobody"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", xff)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for i := 0; i < 30; i++ {
		if got := send(fmt.Sprintf("198.51.100.%d", i+1)); got != 401 {
			t.Fatalf("client %d, its first request: %d", i+1, got)
		}
	}
	limited := false
	for i := 0; i < 30 && !limited; i++ {
		limited = send("203.0.113.7") == 429
	}
	if !limited {
		t.Fatal("one client behind the proxy was never limited")
	}
}

// A body that is not JSON is refused with 415, and the answer does not
// repeat the Content-Type it came with (error answers never echo input).
func TestUnsupportedMediaTypeIsNotEchoed(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig(t, t.TempDir()))
	r := s.doHeaders("POST", "/register", "", `{"username":"bob"}`, map[string]string{"Content-Type": "text/x-secret-4242"}).
		want(t, 415, "not JSON")
	if strings.Contains(r.Raw, "secret-4242") {
		t.Fatalf("the answer echoes the Content-Type: %s", r.Raw)
	}
	if !strings.Contains(r.Raw, "application/json") {
		t.Fatalf("the answer does not say what to send: %s", r.Raw)
	}
}
