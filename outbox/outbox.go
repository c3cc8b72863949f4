// Package outbox is the embedded mailer: each mail is written as an RFC 5322
// message (.eml, mode 0600, since it holds a one-time code) into a folder,
// where a developer or a local mail tool picks it up. Nothing is sent.
package outbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/strongroom/strongroom"
)

var _ strongroom.Mailer = (*Outbox)(nil)

// Outbox writes mail into a directory.
type Outbox struct {
	dir  string
	from string
	now  func() time.Time
	log  *slog.Logger
}

// New returns an Outbox writing into dir (created 0700 if missing), with
// from as the sender address.
func New(dir, from string, now func() time.Time, log *slog.Logger) (*Outbox, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	return &Outbox{dir: dir, from: from, now: now, log: log}, nil
}

// Send writes one .eml file. The log names the file, never the content.
func (o *Outbox) Send(ctx context.Context, m strongroom.Mail) error {
	now := o.now()
	var id [8]byte
	_, _ = rand.Read(id[:])
	name := fmt.Sprintf("%s-%s.eml", now.UTC().Format("20060102T150405.000000000Z"), hex.EncodeToString(id[:]))
	msg, err := Format(o.from, m, now, hex.EncodeToString(id[:]))
	if err != nil {
		return strongroom.Unavailable("mail could not be sent", err)
	}
	tmp, err := os.CreateTemp(o.dir, ".mail-*")
	if err != nil {
		return strongroom.Unavailable("mail could not be sent", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(msg); err != nil {
		tmp.Close()
		return strongroom.Unavailable("mail could not be sent", err)
	}
	if err := tmp.Close(); err != nil {
		return strongroom.Unavailable("mail could not be sent", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(o.dir, name)); err != nil {
		return strongroom.Unavailable("mail could not be sent", err)
	}
	if o.log != nil {
		o.log.InfoContext(ctx, "mail written to outbox", "file", name, "subject", m.Subject)
	}
	return nil
}

// Format renders an RFC 5322 message with a plain-text UTF-8 body.
func Format(from string, m strongroom.Mail, now time.Time, id string) ([]byte, error) {
	for _, a := range []string{from, m.To} {
		if _, err := mail.ParseAddress(a); err != nil {
			return nil, fmt.Errorf("outbox: bad address: %w", err)
		}
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return nil, fmt.Errorf("outbox: subject holds a line break")
	}
	domain := from[strings.LastIndexByte(from, '@')+1:]
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\n", from)
	fmt.Fprintf(&b, "To: %s\r\n", m.To)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", m.Subject))
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@%s>\r\n", id, domain)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n"))
	return b.Bytes(), nil
}
