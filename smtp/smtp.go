// Package smtp is the production mailer: one-time codes sent over SMTP with
// github.com/wneessen/go-mail. TLS is required: implicit TLS on port 465,
// STARTTLS on any other port, and only SMTP_TLS=off (for a local relay)
// turns it off, in which case no password may be sent. Every step of a
// delivery shares one deadline, so a slow or silent server costs at most
// Timeout, and a failed delivery is KindUnavailable.
package smtp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/strongroom/strongroom"
)

var _ strongroom.Mailer = (*Mailer)(nil)

// DefaultTimeout bounds one delivery, from connect to QUIT.
const DefaultTimeout = 10 * time.Second

// Config is how to reach the server.
type Config struct {
	Host     string
	Port     int // 587 if zero
	Username string
	Password string
	From     string
	// ImplicitTLS speaks TLS from the first byte (port 465, SMTP_TLS=implicit)
	// instead of STARTTLS.
	ImplicitTLS bool
	// NoTLS sends in clear (SMTP_TLS=off): only for a relay on the same host.
	NoTLS   bool
	RootCAs *x509.CertPool // nil: the system's roots
	Timeout time.Duration
}

// Mailer sends mail over SMTP.
type Mailer struct {
	cfg Config
}

// New checks the configuration and returns a Mailer. It does not connect.
func New(cfg Config) (*Mailer, error) {
	if cfg.Host == "" || cfg.From == "" {
		return nil, errors.New("smtp: SMTP_SERVER and EMAIL_FROM are required")
	}
	if cfg.Port == 0 {
		cfg.Port = 587
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.NoTLS && cfg.Username != "" {
		return nil, errors.New("smtp: SMTP_TLS=off with SMTP_USERNAME would send the password in clear")
	}
	if cfg.Port == 465 {
		cfg.ImplicitTLS = true
	}
	if cfg.NoTLS && cfg.ImplicitTLS {
		return nil, errors.New("smtp: implicit TLS (port 465) and SMTP_TLS=off contradict each other")
	}
	return &Mailer{cfg: cfg}, nil
}

func (m *Mailer) client() (*mail.Client, error) {
	c := m.cfg
	opts := []mail.Option{
		mail.WithPort(c.Port),
		mail.WithTimeout(c.Timeout),
		mail.WithTLSConfig(&tls.Config{ServerName: c.Host, RootCAs: c.RootCAs, MinVersion: tls.VersionTLS12}),
	}
	switch {
	case c.ImplicitTLS:
		opts = append(opts, mail.WithSSL())
	case c.NoTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if c.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(c.Username), mail.WithPassword(c.Password))
	}
	return mail.NewClient(c.Host, opts...)
}

// Send delivers one message. The error never contains the body.
func (m *Mailer) Send(ctx context.Context, msg strongroom.Mail) error {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	em := mail.NewMsg()
	if err := em.From(m.cfg.From); err != nil {
		return strongroom.Internal("smtp: from", err)
	}
	if err := em.To(msg.To); err != nil {
		return strongroom.Internal("smtp: to", err)
	}
	em.Subject(msg.Subject)
	em.SetDate()
	em.SetMessageID()
	em.SetBodyString(mail.TypeTextPlain, msg.Body)
	c, err := m.client()
	if err != nil {
		return strongroom.Internal("smtp: client", err)
	}
	if err := c.DialAndSendWithContext(ctx, em); err != nil {
		return strongroom.Unavailable("the code could not be mailed; try again later",
			fmt.Errorf("smtp: deliver via %s:%d: %w", m.cfg.Host, m.cfg.Port, err))
	}
	return nil
}
