package mongo

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	msg := redact("auth failed for user:s3cr3t-pw@db.example.com", "mongodb://user:s3cr3t-pw@db.example.com/?authSource=admin")
	if strings.Contains(msg, "s3cr3t-pw") || !strings.Contains(msg, "<redacted>") {
		t.Fatalf("redact = %q", msg)
	}
	if got := redact("no password here", "mongodb://db.example.com/"); got != "no password here" {
		t.Fatalf("redact without a password = %q", got)
	}
}
