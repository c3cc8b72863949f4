package testserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// SMTPMode says how the test SMTP server behaves.
type SMTPMode int

// SMTP server behaviours.
const (
	SMTPAccept      SMTPMode = iota // STARTTLS, AUTH PLAIN, accepts mail
	SMTPRefuse                      // refuses every recipient with 554
	SMTPHang                        // accepts the TCP connection and never greets
	SMTPPlain                       // no STARTTLS, no AUTH: a local relay in clear
	SMTPImplicitTLS                 // TLS from the first byte, as on port 465
)

// SMTPServer is a real SMTP server (github.com/emersion/go-smtp) on a free
// loopback port, with a test certificate for 127.0.0.1 that only RootCAs
// trusts. It requires STARTTLS before AUTH.
type SMTPServer struct {
	Host, Username, Password string
	Port                     int
	RootCAs                  *x509.CertPool
	CAPEM                    []byte // the test certificate, PEM, for SMTP_CA_FILE

	mu       sync.Mutex
	received []SMTPMessage
}

// SMTPMessage is one delivered message.
type SMTPMessage struct {
	From string
	To   []string
	Data []byte
	TLS  bool // the session was encrypted when the message arrived
}

// StartSMTP starts a server that stops with the test.
func StartSMTP(t testing.TB, mode SMTPMode) *SMTPServer {
	t.Helper()
	cert, pool := testCert(t)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &SMTPServer{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, Username: "mailer", Password: "mail-pass-0123", RootCAs: pool, CAPEM: caPEM}
	if mode == SMTPHang {
		var conns []net.Conn
		var mu sync.Mutex
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		}()
		t.Cleanup(func() {
			l.Close()
			mu.Lock()
			for _, c := range conns {
				c.Close()
			}
			mu.Unlock()
		})
		return s
	}
	srv := smtp.NewServer(&smtpBackend{s: s, mode: mode})
	srv.Domain = "localhost"
	if mode != SMTPPlain {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.AllowInsecureAuth = false
	if mode == SMTPImplicitTLS {
		l = tls.NewListener(l, srv.TLSConfig)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return s
}

// Received returns the messages delivered so far.
func (s *SMTPServer) Received() []SMTPMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SMTPMessage(nil), s.received...)
}

type smtpBackend struct {
	s    *SMTPServer
	mode SMTPMode
}

func (b *smtpBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &smtpSession{b: b, conn: c}, nil
}

type smtpSession struct {
	b    *smtpBackend
	conn *smtp.Conn
	auth bool
	msg  SMTPMessage
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != s.b.s.Username || password != s.b.s.Password {
			return errors.New("invalid credentials")
		}
		s.auth = true
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if !s.auth && s.b.mode != SMTPPlain {
		return smtp.ErrAuthRequired
	}
	s.msg = SMTPMessage{From: from}
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.b.mode == SMTPRefuse {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "relay refused"}
	}
	s.msg.To = append(s.msg.To, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, s.msg.TLS = s.conn.TLSConnectionState()
	s.msg.Data = b
	s.b.s.mu.Lock()
	s.b.s.received = append(s.b.s.received, s.msg)
	s.b.s.mu.Unlock()
	return nil
}

func (s *smtpSession) Reset()        {}
func (s *smtpSession) Logout() error { return nil }

// testCert makes a self-signed certificate for 127.0.0.1 and localhost,
// and a pool that trusts only it.
func testCert(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "strongroom test SMTP"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
