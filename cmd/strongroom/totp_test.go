package main

import (
	"bytes"
	"image/png"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strongroom/strongroom/internal/testclock"
)

// oathtool computes a TOTP code independently of the server's own code
// (Debian's oathtool, installed by the test command).
func oathtool(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	out, err := exec.Command("oathtool", "--totp", "-b", secret, "--now", at.UTC().Format("2006-01-02 15:04:05 UTC")).Output()
	if err != nil {
		t.Fatalf("oathtool (install it: apt-get install oathtool): %v", err)
	}
	return strings.TrimSpace(string(out))
}

func TestAuthenticatorApp(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, testAuthenticatorApp)
}

// newTOTPClock is a test clock 5 seconds into a TOTP step.
func newTOTPClock() *testclock.Clock {
	return testclock.New(time.Now().Truncate(30 * time.Second).Add(5 * time.Second))
}

func testAuthenticatorApp(t *testing.T, cfg Config) {
	clk := newTOTPClock()
	s := startServerAt(t, cfg, clk.Now)

	s.register("appuser", seedPassword)
	tok := s.login("appuser", seedPassword)
	s.do("GET", "/2fa/totp/qr?setup_id="+strings.Repeat("A", 43), tok, nil).want(t, 404, "QR before setup")
	s.do("POST", "/2fa/totp/setup", "", map[string]string{"password": seedPassword}).want(t, 401, "setup without a token")

	r := s.do("POST", "/2fa/totp/setup", tok, map[string]string{"password": seedPassword}).want(t, 200, "setup")
	secret, _ := r.JSON["secret"].(string)
	url, _ := r.JSON["otpauth_url"].(string)
	setupID, _ := r.JSON["setup_id"].(string)
	if len(secret) != 32 || !strings.HasPrefix(url, "otpauth://totp/") || !strings.Contains(url, "secret="+secret) {
		t.Fatalf("setup answered %s", r.Raw)
	}
	req, _ := http.NewRequest("GET", s.URL+"/2fa/totp/qr?setup_id="+setupID, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	qr, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if img, err := png.Decode(bytes.NewReader(qr)); err != nil || res.Header.Get("Content-Type") != "image/png" || img.Bounds().Dx() != 256 {
		t.Fatalf("QR: %s %v", res.Header.Get("Content-Type"), err)
	}

	// A wrong code does not turn TOTP on.
	wrong := oathtool(t, secret, clk.Now().Add(-5*time.Minute))
	s.do("POST", "/2fa/totp/confirm", tok, map[string]string{"otp": wrong, "setup_id": setupID}).want(t, 401, "confirm with a wrong code")
	s.login("appuser", seedPassword) // still a one-step login

	first := oathtool(t, secret, clk.Now())
	r = s.do("POST", "/2fa/totp/confirm", tok, map[string]string{"otp": first, "setup_id": setupID}).want(t, 200, "confirm")
	codes, _ := r.JSON["recovery_codes"].([]any)
	if len(codes) != 10 {
		t.Fatalf("confirm answered %s", r.Raw)
	}
	u, _ := s.Store.UserByUsername(t.Context(), "appuser")
	if !u.TOTPEnabled || !u.TwoFactorEnabled || !strings.HasPrefix(u.TOTPSecret, "01") || strings.Contains(u.TOTPSecret, secret) {
		t.Fatalf("stored: totp %v 2fa %v secret encrypted %v", u.TOTPEnabled, u.TwoFactorEnabled, strings.HasPrefix(u.TOTPSecret, "01"))
	}

	var challenge string
	login := func() {
		t.Helper()
		r := s.do("POST", "/login", "", map[string]string{"username": "appuser", "password": seedPassword}).want(t, 200, "login")
		challenge, _ = r.JSON["challenge"].(string)
		if r.JSON["two_factor_required"] != true || r.JSON["access_token"] != nil || challenge == "" {
			t.Fatalf("login answered %s", r.Raw)
		}
	}
	verify := func(code string) response {
		return s.do("POST", "/verify-otp", "", map[string]string{"username": "appuser", "otp": code, "challenge": challenge})
	}

	login()
	for _, m := range s.mails("appuser@example.com") {
		if codeRE.MatchString(m) {
			t.Fatal("a login with an app as the only factor mailed a code")
		}
	}
	// No code exists behind the owner's back either: the pending login has
	// no mailed code.
	if c, err := s.Store.Challenge(t.Context(), u.ID, "login", clk.Now()); err != nil || c.CodeHash != "" {
		t.Fatalf("the pending login of an app-only account: %+v, %v; want no code", c, err)
	}
	verify(first).want(t, 401, "the confirming code again")

	// A fresh code works, once, even when sent twice in parallel.
	clk.Add(30 * time.Second)
	second := oathtool(t, secret, clk.Now())
	login()
	var wg sync.WaitGroup
	statuses := make([]int, 2)
	for i := range statuses {
		wg.Add(1)
		go func() { defer wg.Done(); statuses[i] = verify(second).Status }()
	}
	wg.Wait()
	if !(statuses[0] == 200 && statuses[1] == 401 || statuses[0] == 401 && statuses[1] == 200) {
		t.Fatalf("two parallel uses of one code: %v, want one 200 and one 401", statuses)
	}
	login()
	verify(second).want(t, 401, "replay of an accepted code")
	clk.Add(30 * time.Second)
	if tok := verify(oathtool(t, secret, clk.Now())).want(t, 200, "next step's code").JSON["access_token"]; tok == nil {
		t.Fatal("no token")
	}
	// One step of drift either way is allowed.
	login()
	verify(oathtool(t, secret, clk.Now().Add(30*time.Second))).want(t, 200, "code of the next step (drift)")

	// Recovery codes: once each, case and dash do not matter.
	rc0, rc1 := codes[0].(string), codes[1].(string)
	login()
	verify(rc0).want(t, 200, "recovery code")
	login()
	verify(rc0).want(t, 401, "recovery code reused")
	login()
	verify(strings.ToLower(strings.ReplaceAll(rc1, "-", ""))).want(t, 200, "recovery code, lowercase without dash")
	verify("ZZZZZ-ZZZZZ").want(t, 401, "no login pending")

	// Turning 2FA off needs the password and a second factor.
	clk.Add(2 * time.Minute)
	now := oathtool(t, secret, clk.Now())
	s.do("POST", "/2fa/disable", tok, map[string]string{"password": "Wrong!pass1", "otp": now}).want(t, 401, "disable with a wrong password")
	s.do("POST", "/2fa/disable", tok, map[string]string{"password": seedPassword, "otp": "000000"}).want(t, 401, "disable with a wrong code")
	s.do("POST", "/2fa/disable", tok, map[string]string{"password": seedPassword, "otp": "nope"}).want(t, 422, "disable with a malformed code")
	s.do("POST", "/2fa/disable", "", map[string]string{"password": seedPassword, "otp": now}).want(t, 401, "disable without a token")
	s.do("POST", "/2fa/disable", tok, map[string]string{"password": seedPassword, "otp": now}).want(t, 200, "disable")
	s.login("appuser", seedPassword) // a one-step login again
	if u, _ := s.Store.UserByUsername(t.Context(), "appuser"); u.TOTPEnabled || u.TOTPSecret != "" || u.TwoFactorEnabled {
		t.Fatal("2FA state left after disable")
	}

	// Nothing secret in the log.
	for _, sec := range []string{secret, rc0, rc1, first, second} {
		if strings.Contains(s.Logs.String(), sec) {
			t.Fatalf("the log holds a secret or code")
		}
	}
}

func TestCodeChecksAreRateLimited(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig(t, t.TempDir()))
	limited := false
	for i := 0; i < 60 && !limited; i++ {
		r := s.do("POST", "/verify-otp", "", map[string]string{"username": "nobody", "otp": "123456"})
		if r.Status == 429 {
			limited = r.Header.Get("Retry-After") != ""
			break
		}
		r.want(t, 401, "verify for nobody")
	}
	if !limited {
		t.Fatal("60 code checks from one address were all answered")
	}
}

// New codes do not buy new guesses: an account gets at most 3 codes at
// once (10 an hour), whoever asks.
func TestCodesPerAccountAreCapped(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig(t, t.TempDir()))
	s.register("capped", seedPassword)
	tok := s.login("capped", seedPassword)
	for i := 0; i < 3; i++ {
		s.do("POST", "/send-otp", tok, map[string]string{"username": "capped"}).want(t, 200, "send-otp")
	}
	r := s.do("POST", "/send-otp", tok, map[string]string{"username": "capped"}).want(t, 429, "fourth code in a row")
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
}
