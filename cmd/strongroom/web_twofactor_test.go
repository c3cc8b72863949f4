package main

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/strongroom/strongroom/web"
)

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
