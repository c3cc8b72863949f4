package smtp_test

import (
	"bytes"
	"context"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/internal/testserver"
	"github.com/strongroom/strongroom/smtp"
)

func config(s *testserver.SMTPServer) smtp.Config {
	return smtp.Config{Host: s.Host, Port: s.Port, Username: s.Username, Password: s.Password,
		From: "strongroom@example.com", RootCAs: s.RootCAs, Timeout: 2 * time.Second}
}

func send(t *testing.T, cfg smtp.Config) error {
	t.Helper()
	m, err := smtp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m.Send(context.Background(), strongroom.Mail{To: "test@example.com", Subject: "Your Strongroom verification code",
		Body: "Your Strongroom verification code is 123456.\n"})
}

func TestDeliveryOverSTARTTLS(t *testing.T) {
	s := testserver.StartSMTP(t, testserver.SMTPAccept)
	if err := send(t, config(s)); err != nil {
		t.Fatal(err)
	}
	got := s.Received()
	if len(got) != 1 {
		t.Fatalf("%d messages arrived, want 1", len(got))
	}
	m := got[0]
	if !m.TLS || m.From != "strongroom@example.com" || len(m.To) != 1 || m.To[0] != "test@example.com" {
		t.Fatalf("envelope: TLS %v, from %q, to %v", m.TLS, m.From, m.To)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Header.Get("Subject") != "Your Strongroom verification code" || !strings.Contains(msg.Header.Get("From"), "strongroom@example.com") ||
		!strings.Contains(msg.Header.Get("To"), "test@example.com") {
		t.Fatalf("headers %v", msg.Header)
	}
	if !bytes.Contains(m.Data, []byte("123456")) {
		t.Fatal("the code is not in the message")
	}
}

func TestDeliveryOverImplicitTLS(t *testing.T) {
	s := testserver.StartSMTP(t, testserver.SMTPImplicitTLS)
	cfg := config(s)
	cfg.ImplicitTLS = true
	if err := send(t, cfg); err != nil {
		t.Fatal(err)
	}
	if got := s.Received(); len(got) != 1 || !got[0].TLS {
		t.Fatalf("received %d messages over TLS, want 1", len(got))
	}
}

func TestDeliveryFailures(t *testing.T) {
	accept := testserver.StartSMTP(t, testserver.SMTPAccept)
	untrusted := config(accept)
	untrusted.RootCAs = nil // the system roots do not know the test certificate
	wrongPass := config(accept)
	wrongPass.Password = "wrong"
	plain := testserver.StartSMTP(t, testserver.SMTPPlain)
	noStartTLS := config(plain)
	noStartTLS.Username, noStartTLS.Password = "", "" // even without a password, TLS is required
	hang := config(testserver.StartSMTP(t, testserver.SMTPHang))
	hang.Timeout = 500 * time.Millisecond
	for name, cfg := range map[string]smtp.Config{
		"refused":          config(testserver.StartSMTP(t, testserver.SMTPRefuse)),
		"hangs":            hang,
		"untrusted cert":   untrusted,
		"wrong password":   wrongPass,
		"no STARTTLS":      noStartTLS,
		"nobody listening": {Host: "127.0.0.1", Port: 1, From: "strongroom@example.com", Timeout: time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			err := send(t, cfg)
			if !strongroom.IsKind(err, strongroom.KindUnavailable) {
				t.Fatalf("send: %v, want unavailable", err)
			}
			if strings.Contains(err.Error(), "123456") {
				t.Fatalf("the error holds the code: %v", err)
			}
			t.Logf("failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
		})
	}
	if n := len(accept.Received()) + len(plain.Received()); n != 0 {
		t.Fatalf("%d messages were delivered by failing sends", n)
	}
}

func TestLocalRelayWithoutTLS(t *testing.T) {
	s := testserver.StartSMTP(t, testserver.SMTPPlain)
	cfg := config(s)
	cfg.Username, cfg.Password, cfg.NoTLS = "", "", true
	if err := send(t, cfg); err != nil {
		t.Fatal(err)
	}
	if got := s.Received(); len(got) != 1 || got[0].TLS {
		t.Fatalf("received %d (TLS %v)", len(got), len(got) > 0 && got[0].TLS)
	}
}

func TestConfigRefusesPasswordInClear(t *testing.T) {
	if _, err := smtp.New(smtp.Config{Host: "h", From: "a@example.com", Username: "u", Password: "p", NoTLS: true}); err == nil {
		t.Fatal("SMTP_TLS=off with a password accepted")
	}
}
