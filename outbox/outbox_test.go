package outbox_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/outbox"
)

func TestSendWritesParsableMail(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	var logs bytes.Buffer
	o, err := outbox.New(dir, "strongroom@example.com", nil, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	err = o.Send(context.Background(), strongroom.Mail{To: "test@example.com", Subject: "Your code", Body: "Your code is 123456.\nIt expires in 5 minutes."})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 1 {
		t.Fatalf("%d .eml files, want 1", len(files))
	}
	fi, _ := os.Stat(files[0])
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mail file mode %v, want 0600", fi.Mode().Perm())
	}
	f, _ := os.Open(files[0])
	defer f.Close()
	msg, err := mail.ReadMessage(f)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Header.Get("From") != "strongroom@example.com" || msg.Header.Get("To") != "test@example.com" || msg.Header.Get("Subject") != "Your code" {
		t.Fatalf("headers = %v", msg.Header)
	}
	if _, err := msg.Header.Date(); err != nil {
		t.Fatalf("Date: %v", err)
	}
	body, _ := io.ReadAll(msg.Body)
	if !strings.Contains(string(body), "123456") {
		t.Fatalf("body = %q", body)
	}
	if strings.Contains(logs.String(), "123456") || !strings.Contains(logs.String(), "mail written") {
		t.Fatalf("log = %q", logs.String())
	}
}

var fixedNow = time.Unix(1_700_000_000, 0)

func TestFormatRefusesHeaderInjection(t *testing.T) {
	for _, m := range []strongroom.Mail{
		{To: "a@example.com\r\nBcc: evil@example.com", Subject: "s", Body: "b"},
		{To: "a@example.com", Subject: "s\r\nBcc: evil@example.com", Body: "b"},
	} {
		if _, err := outbox.Format("from@example.com", m, fixedNow, "id"); err == nil {
			t.Errorf("Format accepted %q / %q", m.To, m.Subject)
		}
	}
}
