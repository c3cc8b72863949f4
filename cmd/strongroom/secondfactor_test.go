package main

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/internal/testclock"
)

// These tests play the attacks of issue 10 over real sockets, on both
// stores: a second factor without the password, a stolen bearer token, a
// stranger who knows only a username.

// enableApp turns the authenticator app on for user (password seedPassword)
// and returns its secret, the recovery codes and a token.
func enableApp(t *testing.T, s *testServer, clk *testclock.Clock, user string) (secret string, codes []string, tok string) {
	t.Helper()
	s.register(user, seedPassword)
	tok = s.login(user, seedPassword)
	setup := s.do("POST", "/2fa/totp/setup", tok, map[string]string{"password": seedPassword}).want(t, 200, "setup")
	secret, _ = setup.JSON["secret"].(string)
	r := s.do("POST", "/2fa/totp/confirm", tok, map[string]string{"otp": oathtool(t, secret, clk.Now()), "setup_id": setup.JSON["setup_id"].(string)}).
		want(t, 200, "confirm")
	for _, c := range r.JSON["recovery_codes"].([]any) {
		codes = append(codes, c.(string))
	}
	clk.Add(30 * time.Second) // the confirming code is used up
	return secret, codes, tok
}

// startLogin logs in with the password of a 2FA account and returns the
// challenge.
func (s *testServer) startLogin(user string) string {
	s.t.Helper()
	r := s.do("POST", "/login", "", map[string]string{"username": user, "password": seedPassword}).want(s.t, 200, "login "+user)
	c, _ := r.JSON["challenge"].(string)
	if r.JSON["two_factor_required"] != true || c == "" {
		s.t.Fatalf("login of %s answered %s", user, r.Raw)
	}
	return c
}

func (s *testServer) verify(user, challenge, code string) response {
	s.t.Helper()
	body := map[string]string{"username": user, "otp": code}
	if challenge != "" {
		body["challenge"] = challenge
	}
	return s.do("POST", "/verify-otp", "", body)
}

// Someone with a second factor but not the password (a stolen recovery
// code) gets nothing, even while the owner's login is pending, and uses
// nothing up.
func TestSecondStepNeedsTheChallenge(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, testSecondStepNeedsTheChallenge)
}

func testSecondStepNeedsTheChallenge(t *testing.T, cfg Config) {
	clk := newTOTPClock()
	s := startServerAt(t, cfg, clk.Now)
	_, codes, _ := enableApp(t, s, clk, "victim")
	enableApp(t, s, clk, "mallory")

	victims := s.startLogin("victim") // the owner typed the password
	forged := strings.Repeat("A", len(victims))
	mallorys := s.startLogin("mallory") // the attacker's own, valid challenge
	for _, c := range []struct{ name, challenge string }{
		{"no challenge", ""}, {"a forged challenge", forged}, {"another account's challenge", mallorys},
	} {
		r := s.verify("victim", c.challenge, codes[0]).want(t, 401, "stolen recovery code with "+c.name)
		if r.JSON["access_token"] != nil {
			t.Fatalf("%s: a token without the password", c.name)
		}
		if u := s.verify("nobody", c.challenge, codes[0]).want(t, 401, "unknown user with "+c.name); u.Raw != r.Raw {
			t.Fatalf("%s: a known and an unknown user answer differently:\n%s\n%s", c.name, r.Raw, u.Raw)
		}
	}
	// A malformed challenge breaks the document's rule: 422, naming it.
	if r := s.verify("victim", "x", codes[0]).want(t, 422, "a malformed challenge"); !strings.Contains(r.Raw, "body.challenge") {
		t.Fatalf("the refusal does not name the challenge: %s", r.Raw)
	}
	// The attempts used nothing up: the owner's pending login completes
	// with that very recovery code, once.
	s.verify("victim", victims, codes[0]).want(t, 200, "the owner's login with the challenge")
	s.verify("victim", victims, codes[1]).want(t, 401, "a used challenge")
	s.verify("victim", s.startLogin("victim"), codes[1]).want(t, 200, "the second recovery code is still there")

	// Only the challenge's keyed hash is stored.
	c := s.startLogin("victim")
	u, _ := s.Store.UserByUsername(t.Context(), "victim")
	stored, err := s.Store.Challenge(t.Context(), u.ID, strongroom.PurposeLogin, clk.Now())
	if err != nil || stored.LookupHash == "" || strings.Contains(stored.LookupHash, c) {
		t.Fatalf("stored challenge %+v, %v", stored, err)
	}
	if len(c) < 22 { // 128 bits in base64
		t.Fatalf("challenge %q is shorter than 128 bits", c)
	}
	// It ends with the login, after 5 minutes.
	clk.Add(5*time.Minute + time.Second)
	s.verify("victim", c, codes[2]).want(t, 401, "an expired challenge")
	s.verify("victim", s.startLogin("victim"), codes[2]).want(t, 200, "the code was not used by the expired try")
	// The challenge is store state: a login begun on one server ends on
	// another, once.
	other := startServerAt(t, cfg, clk.Now)
	c = s.startLogin("victim")
	other.verify("victim", c, codes[3]).want(t, 200, "the second step on another server")
	s.verify("victim", c, codes[4]).want(t, 401, "the challenge again, on the first server")

	// With email as the factor: no challenge, no mail.
	s.register("mailer", seedPassword)
	tok := s.login("mailer", seedPassword)
	s.do("POST", "/send-otp", tok, map[string]string{"username": "mailer"}).want(t, 200, "enroll")
	s.do("POST", "/verify-otp", tok, map[string]string{"username": "mailer", "otp": s.lastCode("mailer@example.com")}).want(t, 200, "enroll")
	mc := s.startLogin("mailer")
	before := len(s.mails("mailer@example.com"))
	for _, ch := range []string{"", forged, mallorys} {
		body := map[string]string{"username": "mailer"}
		if ch != "" {
			body["challenge"] = ch
		}
		s.do("POST", "/send-otp", "", body).want(t, 401, "re-send without the login's challenge")
	}
	s.verify("mailer", "", s.lastCode("mailer@example.com")).want(t, 401, "the mailed code without the challenge")
	if n := len(s.mails("mailer@example.com")); n != before {
		t.Fatalf("%d mails sent to requests without the challenge", n-before)
	}
	s.do("POST", "/send-otp", "", map[string]string{"username": "mailer", "challenge": mc}).want(t, 200, "re-send with the challenge")
	s.verify("mailer", mc, s.lastCode("mailer@example.com")).want(t, 200, "the re-sent code with the challenge")
}

// A stolen bearer token cannot replace the authenticator or the recovery
// codes; the owner can, and is told about every factor change.
func TestStolenTokenCannotReplaceTheAuthenticator(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, testStolenTokenCannotReplaceTheAuthenticator)
}

func testStolenTokenCannotReplaceTheAuthenticator(t *testing.T, cfg Config) {
	clk := newTOTPClock()
	s := startServerAt(t, cfg, clk.Now)
	secret, codes, tok := enableApp(t, s, clk, "owner")
	before, _ := s.Store.UserByUsername(t.Context(), "owner")

	// The thief has the token, nothing else.
	s.do("POST", "/2fa/totp/setup", tok, map[string]any{}).want(t, 422, "setup with the token alone")
	s.do("POST", "/2fa/totp/setup", tok, map[string]string{"password": "Wrong!pass1", "otp": "123456"}).want(t, 401, "setup with a wrong password")
	if u, _ := s.Store.UserByUsername(t.Context(), "owner"); u.FailedAttempts != 1 {
		t.Fatalf("a wrong password on setup counted %d failures, want 1", u.FailedAttempts)
	}
	// Even a thief who has the password needs a current factor.
	s.do("POST", "/2fa/totp/setup", tok, map[string]string{"password": seedPassword}).want(t, 422, "setup without a factor while 2FA is on")
	s.do("POST", "/2fa/totp/setup", tok, map[string]string{"password": seedPassword, "otp": "000000"}).want(t, 401, "setup with a wrong code")
	if u, _ := s.Store.UserByUsername(t.Context(), "owner"); u.SecondFactorFailures != 1 || u.TOTPSecret != before.TOTPSecret || u.TOTPPendingSecret != "" {
		t.Fatalf("after refused setups: %d second-factor failures, secret kept %v, pending %q",
			u.SecondFactorFailures, u.TOTPSecret == before.TOTPSecret, u.TOTPPendingSecret)
	}
	s.verify("owner", s.startLogin("owner"), oathtool(t, secret, clk.Now())).want(t, 200, "the owner's app still works")

	// The owner replaces the app: password and a current code.
	clk.Add(30 * time.Second)
	mailsBefore := len(s.mails("owner@example.com"))
	r := s.do("POST", "/2fa/totp/setup", tok, map[string]string{"password": seedPassword, "otp": oathtool(t, secret, clk.Now())}).want(t, 200, "setup by the owner")
	newSecret, setupID := r.JSON["secret"].(string), r.JSON["setup_id"].(string)
	// The setup is the owner's: the token alone can neither show its QR
	// code nor confirm it.
	s.do("GET", "/2fa/totp/qr", tok, nil).want(t, 422, "QR code without the setup id")
	s.do("GET", "/2fa/totp/qr?setup_id="+strings.Repeat("A", 43), tok, nil).want(t, 404, "QR code with a made-up setup id")
	s.do("POST", "/2fa/totp/confirm", tok, map[string]string{"otp": oathtool(t, newSecret, clk.Now())}).want(t, 422, "confirm without the setup id")
	s.do("POST", "/2fa/totp/confirm", tok, map[string]string{"otp": oathtool(t, newSecret, clk.Now()), "setup_id": strings.Repeat("A", 43)}).
		want(t, 404, "confirm with a made-up setup id")
	if res := s.do("GET", "/2fa/totp/qr?setup_id="+setupID, tok, nil); res.Status != 200 {
		t.Fatalf("the owner's QR code: %d", res.Status)
	}
	// Five wrong codes end a setup, its QR code with it.
	clk.Add(30 * time.Second)
	wrongSetup := s.do("POST", "/2fa/totp/setup", tok, map[string]string{"password": seedPassword, "otp": oathtool(t, secret, clk.Now())}).
		want(t, 200, "a setup to burn").JSON["setup_id"].(string)
	for i := 0; i < 5; i++ {
		s.do("POST", "/2fa/totp/confirm", tok, map[string]string{"otp": "000000", "setup_id": wrongSetup}).want(t, 401, "a wrong confirm code")
	}
	s.do("GET", "/2fa/totp/qr?setup_id="+wrongSetup, tok, nil).want(t, 404, "the QR code of a burned setup")
	s.do("POST", "/2fa/totp/confirm", tok, map[string]string{"otp": oathtool(t, newSecret, clk.Now()), "setup_id": wrongSetup}).
		want(t, 404, "confirm a burned setup")
	clk.Add(30 * time.Second)
	r = s.do("POST", "/2fa/totp/setup", tok, map[string]string{"password": seedPassword, "otp": oathtool(t, secret, clk.Now())}).want(t, 200, "setup again")
	newSecret, setupID = r.JSON["secret"].(string), r.JSON["setup_id"].(string)
	r = s.do("POST", "/2fa/totp/confirm", tok, map[string]string{"otp": oathtool(t, newSecret, clk.Now()), "setup_id": setupID}).want(t, 200, "confirm the new app")
	s.do("POST", "/2fa/totp/confirm", tok, map[string]string{"otp": oathtool(t, newSecret, clk.Now()), "setup_id": setupID}).want(t, 404, "the setup id again")
	clk.Add(30 * time.Second)
	s.verify("owner", s.startLogin("owner"), codes[0]).want(t, 401, "an old recovery code after the replacement")
	s.verify("owner", s.startLogin("owner"), oathtool(t, secret, clk.Now())).want(t, 401, "the old app after the replacement")
	s.verify("owner", s.startLogin("owner"), oathtool(t, newSecret, clk.Now())).want(t, 200, "the new app")

	// Turning 2FA off, then email 2FA on: each change is mailed.
	clk.Add(30 * time.Second)
	s.do("POST", "/2fa/disable", tok, map[string]string{"password": seedPassword, "otp": oathtool(t, newSecret, clk.Now())}).want(t, 200, "disable")
	s.do("POST", "/send-otp", tok, map[string]string{"username": "owner"}).want(t, 200, "enroll email")
	s.do("POST", "/verify-otp", tok, map[string]string{"username": "owner", "otp": s.lastCode("owner@example.com")}).want(t, 200, "enroll email")

	var notices []string
	for _, m := range s.mails("owner@example.com")[mailsBefore:] {
		if !codeRE.MatchString(m) {
			notices = append(notices, m)
		}
	}
	for _, want := range []string{"authenticator app was replaced", "turned off", "by email was turned on"} {
		found := false
		for _, m := range notices {
			found = found || strings.Contains(m, want)
		}
		if !found {
			t.Errorf("no notice %q among %d notices", want, len(notices))
		}
	}
	secrets := []string{secret, newSecret, tok, seedPassword}
	for _, c := range r.JSON["recovery_codes"].([]any) {
		secrets = append(secrets, c.(string))
	}
	for _, m := range notices {
		for _, sec := range secrets {
			if strings.Contains(m, sec) {
				t.Fatalf("a notice holds a secret:\n%s", m)
			}
		}
		if regexp.MustCompile(`\b\d{6}\b`).MatchString(m[strings.Index(m, "\r\n\r\n"):]) {
			t.Fatalf("a notice holds a code:\n%s", m)
		}
	}
}

// Ten wrong second factors in a row lock the second step for 15 minutes,
// right codes too; the owner is mailed; the count is in the store, so it
// survives a restart and holds on every server.
func TestSecondFactorGuessingLocks(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, testSecondFactorGuessingLocks)
}

func testSecondFactorGuessingLocks(t *testing.T, cfg Config) {
	clk := newTOTPClock()
	s := startServerAt(t, cfg, clk.Now)
	secret, _, tok := enableApp(t, s, clk, "guessed")
	right := func() string { return oathtool(t, secret, clk.Now()) }
	wrong := func() string { return fmt.Sprintf("%06d", (mustAtoi(t, right())+1)%1_000_000) }

	// The guesser knows the password; each challenge takes 5 tries.
	var c string
	for i := 0; i < 10; i++ {
		if i%5 == 0 {
			c = s.startLogin("guessed")
		}
		s.verify("guessed", c, wrong()).want(t, 401, fmt.Sprintf("wrong code %d", i+1))
	}
	locked := func(s *testServer, what string) {
		t.Helper()
		r := s.do("POST", "/login", "", map[string]string{"username": "guessed", "password": seedPassword}).want(t, 429, what)
		if sec, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || sec < 60 || sec > 15*60 {
			t.Fatalf("%s: Retry-After %q", what, r.Header.Get("Retry-After"))
		}
	}
	locked(s, "login after 10 wrong codes")
	// A right code is refused too, wherever it is checked.
	s.do("POST", "/2fa/disable", tok, map[string]string{"password": seedPassword, "otp": right()}).want(t, 429, "a right code while locked")
	found := false
	for _, m := range s.mails("guessed@example.com") {
		found = found || strings.Contains(m, "wrong second-factor codes")
	}
	if !found {
		t.Fatal("the owner was not mailed about the lock")
	}

	// Another server on the same store, and this one restarted: still locked.
	other := startServerAt(t, cfg, clk.Now)
	locked(other, "login on another server")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = startServerAt(t, cfg, clk.Now)
	locked(s, "login after a restart")

	// After 15 minutes the right code works and clears the count.
	clk.Add(15*time.Minute + time.Second)
	s.verify("guessed", s.startLogin("guessed"), right()).want(t, 200, "the right code after the lock")
	if u, _ := s.Store.UserByUsername(t.Context(), "guessed"); u.SecondFactorFailures != 0 {
		t.Fatalf("%d failures left after a success", u.SecondFactorFailures)
	}
}

// A stranger who knows only a username cannot spend the account's
// budgets: after a swarm of token-less, challenge-less requests from many
// addresses, the owner's own login and code still go through.
func TestAccountBudgetsNeedCredentials(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, testAccountBudgetsNeedCredentials)
}

func testAccountBudgetsNeedCredentials(t *testing.T, cfg Config) {
	s := startServer(t, cfg)
	s.register("drained", seedPassword)
	tok := s.login("drained", seedPassword)
	s.do("POST", "/send-otp", tok, map[string]string{"username": "drained"}).want(t, 200, "enroll")
	s.do("POST", "/verify-otp", tok, map[string]string{"username": "drained", "otp": s.lastCode("drained@example.com")}).want(t, 200, "enroll")

	for i := 0; i < 40; i++ {
		c := clientFrom(fmt.Sprintf("127.0.1.%d", i+1))
		for _, req := range []struct{ path, body string }{
			{"/verify-otp", `{"username":"drained","otp":"123456"}`},
			{"/send-otp", `{"username":"drained"}`},
		} {
			res, err := c.Post(s.URL+req.path, "application/json", strings.NewReader(req.body))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 401 {
				t.Fatalf("stranger %d, %s: status %d, want 401", i, req.path, res.StatusCode)
			}
		}
	}
	c := s.startLogin("drained") // mails a code: the mail budget is whole
	s.verify("drained", c, s.lastCode("drained@example.com")).want(t, 200, "the owner's code after the swarm")

	// Nor can a stolen token spend the owner's way in: the budgets of a
	// login are not those of a token's requests.
	junk := strings.Repeat("A", 43)
	for i := 0; i < 25; i++ {
		s.do("POST", "/2fa/totp/confirm", tok, map[string]string{"otp": "000000", "setup_id": junk})
	}
	for i := 0; i < 5; i++ {
		s.do("POST", "/send-otp", tok, map[string]string{"username": "drained"})
	}
	c = s.startLogin("drained")
	r := s.verify("drained", c, s.lastCode("drained@example.com")).want(t, 200, "the owner's code after a token's requests")
	// With 2FA on, the thief's token gets no code checked at /verify-otp
	// (nothing is spent), so it cannot block the owner's changes either.
	for range 25 {
		s.doWith(clientFrom("127.0.0.9"), "POST", "/verify-otp", tok, map[string]string{"username": "drained", "otp": "000000"}).
			want(t, 409, "a token's code with 2FA on")
	}
	s.do("POST", "/send-otp", r.JSON["access_token"].(string), map[string]string{"username": "drained"}).want(t, 200, "a code for the owner's new session")
	s.do("POST", "/2fa/totp/setup", r.JSON["access_token"].(string), map[string]string{"password": seedPassword, "otp": s.lastCode("drained@example.com")}).
		want(t, 200, "the owner's change in a new session")
}

// An account with both an app and email: when its login mails are spent,
// a login still goes on, with the app.
func TestSpentMailBudgetLeavesTheApp(t *testing.T) {
	t.Parallel()
	clk := newTOTPClock()
	s := startServerAt(t, storeConfig(t, "sqlite"), clk.Now)
	// Email first (a token enrolls it while no factor is on), then the app,
	// with the password and a mailed code.
	s.register("both", seedPassword)
	tok := s.login("both", seedPassword)
	s.do("POST", "/send-otp", tok, map[string]string{"username": "both"}).want(t, 200, "enroll email")
	s.do("POST", "/verify-otp", tok, map[string]string{"username": "both", "otp": s.lastCode("both@example.com")}).want(t, 200, "enroll email")
	s.do("POST", "/send-otp", tok, map[string]string{"username": "both"}).want(t, 200, "a code for the app's setup")
	setup := s.do("POST", "/2fa/totp/setup", tok, map[string]string{"password": seedPassword, "otp": s.lastCode("both@example.com")}).want(t, 200, "setup")
	secret := setup.JSON["secret"].(string)
	s.do("POST", "/2fa/totp/confirm", tok, map[string]string{"otp": oathtool(t, secret, clk.Now()), "setup_id": setup.JSON["setup_id"].(string)}).
		want(t, 200, "confirm")
	clk.Add(30 * time.Second)
	// A token and the mailbox cannot add the email factor once 2FA is on,
	// nor mint a fresh token.
	s.do("POST", "/send-otp", tok, map[string]string{"username": "both"}).want(t, 200, "a code")
	s.do("POST", "/verify-otp", tok, map[string]string{"username": "both", "otp": s.lastCode("both@example.com")}).want(t, 409, "enroll again")
	for i := 0; i < 3; i++ {
		s.startLogin("both") // each mails a code
	}
	r := s.do("POST", "/login", "", map[string]string{"username": "both", "password": seedPassword}).want(t, 200, "login with the mail budget spent")
	if r.JSON["message"] == "OTP sent to your email" {
		t.Fatalf("login answered %s", r.Raw)
	}
	s.verify("both", r.JSON["challenge"].(string), oathtool(t, secret, clk.Now())).want(t, 200, "the app code")
}

// An unknown username locks exactly like a known one; the owner of a
// locked account is mailed a code that lifts the lock.
func TestUnknownNamesLockAndOwnersUnlock(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, testUnknownNamesLockAndOwnersUnlock)
}

func testUnknownNamesLockAndOwnersUnlock(t *testing.T, cfg Config) {
	s := startServer(t, cfg)
	s.register("victim", seedPassword)
	tok := s.login("victim", seedPassword)
	guess := func(user string) response {
		return s.do("POST", "/login", "", map[string]string{"username": user, "password": "Wrong!pass1"})
	}
	for i := 0; i < 5; i++ {
		a, b := guess("victim").want(t, 401, "guess"), guess("ghost").want(t, 401, "guess for an unknown name")
		if a.Raw != b.Raw {
			t.Fatalf("guess %d: known and unknown names answer differently", i+1)
		}
	}
	a, b := guess("victim").want(t, 429, "locked"), guess("ghost").want(t, 429, "an unknown name locks too")
	ra, rb := mustAtoi(t, a.Header.Get("Retry-After")), mustAtoi(t, b.Header.Get("Retry-After"))
	if a.Raw != b.Raw || ra < rb-2 || ra > rb+2 || ra < 14*60 {
		t.Fatalf("locked answers differ: %s (Retry-After %d) vs %s (%d)", a.Raw, ra, b.Raw, rb)
	}
	// Both locks are in the store: a second server on it refuses too.
	other := startServer(t, cfg)
	for _, user := range []string{"victim", "ghost"} {
		other.do("POST", "/login", "", map[string]string{"username": user, "password": "Wrong!pass1"}).want(t, 429, user+" on another server")
	}

	mails := s.mails("victim@example.com")
	if len(mails) != 1 {
		t.Fatalf("%d mails to the owner of the locked account, want 1", len(mails))
	}
	m := regexp.MustCompile(`\b([A-Z2-7]{5}-[A-Z2-7]{5})\b`).FindStringSubmatch(mails[0])
	if m == nil {
		t.Fatalf("no unlock code in the mail:\n%s", mails[0])
	}
	code := m[1]
	unlock := func(user, code string) response {
		return s.do("POST", "/unlock", "", map[string]string{"username": user, "code": code})
	}
	w := unlock("victim", "AAAAA-AAAAA").want(t, 401, "a wrong unlock code")
	if g := unlock("ghost", code).want(t, 401, "an unknown name"); g.Raw != w.Raw {
		t.Fatalf("unlock answers an unknown name and a wrong code differently:\n%s\n%s", w.Raw, g.Raw)
	}
	unlock("victim", "no").want(t, 422, "a malformed code")
	unlock("victim", strings.ToLower(code)).want(t, 200, "the mailed code").wantBody(t, `{"message": "Account unlocked"}`)
	unlock("victim", code).want(t, 401, "the code again")

	// The lock stays for everyone else: whoever reads the mail but lacks
	// the password gains no fresh guesses, from any other address; the
	// stranger keeps getting 429.
	stranger := clientFrom("127.0.0.2")
	wrongBody := map[string]string{"username": "victim", "password": "Wrong!pass1"}
	for i := 0; i < 3; i++ {
		if st := postFrom(stranger, s.URL+"/login", wrongBody); st != 429 {
			t.Fatalf("the stranger's guess %d after the unlock: %d, want 429", i+1, st)
		}
	}
	if st := postFrom(clientFrom("127.0.0.3"), s.URL+"/login", map[string]string{"username": "victim", "password": seedPassword}); st != 429 {
		t.Fatalf("another address during the lock: %d, want 429", st)
	}
	// The address that unlocked gets through, with the password, and a
	// token's changes from there too (3 tries in all).
	guess("victim").want(t, 401, "a wrong password from the unlocking address is checked, not refused")
	other.do("POST", "/2fa/totp/setup", tok, map[string]string{"password": seedPassword}).
		want(t, 200, "a change from the unlocking address, on the other server: the pass is in the store")
	// That right password lifted the lock for everyone; when a stranger
	// locks it again, the pass still has its third try.
	for i := 0; i < 5; i++ {
		if st := postFrom(stranger, s.URL+"/login", wrongBody); st != 401 {
			t.Fatalf("the stranger's guess %d after the owner got in: %d", i+1, st)
		}
	}
	s.login("victim", seedPassword)
	for i := 0; i < 5; i++ {
		postFrom(stranger, s.URL+"/login", wrongBody)
	}
	guess("victim").want(t, 429, "the pass is used up")
	if strings.Contains(s.Logs.String(), code) {
		t.Fatal("the log holds the unlock code")
	}
	if u, err := s.Store.UserByUsername(context.Background(), "ghost"); err == nil {
		t.Fatalf("guessing made an account: %+v", u)
	}
}
