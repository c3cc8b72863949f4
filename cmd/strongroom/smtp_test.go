package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/strongroom/strongroom/internal/testserver"
	"github.com/strongroom/strongroom/secret"
)

// withSMTP points cfg at a test SMTP server (STARTTLS with a test
// certificate given as SMTP_CA_FILE) and makes the test server read codes
// from it.
func withSMTP(t *testing.T, cfg Config, mode testserver.SMTPMode) (Config, *testserver.SMTPServer) {
	t.Helper()
	srv := testserver.StartSMTP(t, mode)
	ca := filepath.Join(t.TempDir(), "smtp-ca.pem")
	if err := os.WriteFile(ca, srv.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.SMTPServer, cfg.SMTPPort, cfg.SMTPUsername, cfg.SMTPPassword, cfg.SMTPCAFile = srv.Host, srv.Port, srv.Username, secret.New(srv.Password), ca
	// A hanging server costs the test the whole timeout; a working one gets
	// time to answer however loaded the machine is (tests run in parallel).
	cfg.SMTPTimeout = 10 * time.Second
	if mode == testserver.SMTPHang {
		cfg.SMTPTimeout = time.Second
	}
	return cfg, srv
}

var smtpCodeRE = regexp.MustCompile(`code is (\d{6})`)

// smtpCodes returns the codes mailed to addr, oldest first.
func smtpCodes(srv *testserver.SMTPServer, addr string) []string {
	var out []string
	for _, m := range srv.Received() {
		if len(m.To) == 1 && m.To[0] == addr {
			if c := smtpCodeRE.FindSubmatch(m.Data); c != nil {
				out = append(out, string(c[1]))
			}
		}
	}
	return out
}

// TestTwoFactorOverSMTP: enrollment and a 2FA login with the codes
// delivered by a real SMTP server over STARTTLS.
func TestTwoFactorOverSMTP(t *testing.T) {
	t.Parallel()
	cfg, srv := withSMTP(t, testConfig(t, t.TempDir()), testserver.SMTPAccept)
	s := startServer(t, cfg)
	s.register("mailer", seedPassword)
	tok := s.login("mailer", seedPassword)
	s.do("POST", "/send-otp", tok, map[string]string{"username": "mailer"}).want(t, 200, "send-otp")
	codes := smtpCodes(srv, "mailer@example.com")
	if len(codes) != 1 || !srv.Received()[0].TLS {
		t.Fatalf("%d codes arrived (TLS %v)", len(codes), len(srv.Received()) > 0 && srv.Received()[0].TLS)
	}
	if !bytes.Contains(srv.Received()[0].Data, []byte("Subject: Your Strongroom verification code")) {
		t.Fatalf("message: %s", srv.Received()[0].Data)
	}
	s.do("POST", "/verify-otp", tok, map[string]string{"username": "mailer", "otp": codes[0]}).want(t, 200, "enroll")
	r := s.do("POST", "/login", "", map[string]string{"username": "mailer", "password": seedPassword}).want(t, 200, "login")
	if r.JSON["two_factor_required"] != true {
		t.Fatalf("login answered %s", r.Raw)
	}
	codes = smtpCodes(srv, "mailer@example.com")
	s.do("POST", "/verify-otp", "", map[string]string{"username": "mailer", "otp": codes[len(codes)-1], "challenge": r.JSON["challenge"].(string)}).
		want(t, 200, "2FA login")
	for _, c := range codes {
		if regexp.MustCompile(`(^|[^0-9A-Za-z])` + c + `([^0-9A-Za-z]|$)`).MatchString(s.Logs.String()) {
			t.Fatal("a code reached the log")
		}
	}
}

// A server that refuses or hangs: the client gets 503 and the code that
// could not be delivered is not usable.
func TestUndeliverableCodeIsNotUsable(t *testing.T) {
	t.Parallel()
	for _, mode := range []testserver.SMTPMode{testserver.SMTPRefuse, testserver.SMTPHang} {
		t.Run(strconv.Itoa(int(mode)), func(t *testing.T) {
			t.Parallel()
			cfg, _ := withSMTP(t, testConfig(t, t.TempDir()), mode)
			s := startServer(t, cfg)
			s.register("lost", seedPassword)
			tok := s.login("lost", seedPassword)
			r := s.do("POST", "/send-otp", tok, map[string]string{"username": "lost"}).want(t, 503, "send-otp to a failing server")
			t.Logf("detail: %s", r.JSON["detail"])
			u, _ := s.Store.UserByUsername(t.Context(), "lost")
			if _, err := s.Store.Challenge(t.Context(), u.ID, "enroll", s.Main.now()); err == nil {
				t.Fatal("an undelivered code is still stored")
			}
			if !regexp.MustCompile(`one-time code not delivered`).MatchString(s.Logs.String()) {
				t.Fatal("the failure was not logged")
			}
		})
	}
}
