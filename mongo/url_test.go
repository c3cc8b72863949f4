package mongo

import (
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"
)

func TestRedact(t *testing.T) {
	for _, c := range []struct{ msg, url string }{
		{"auth failed for user:s3cr3t-pw@db.example.com", "mongodb://user:s3cr3t-pw@db.example.com/?authSource=admin"},
		// Several hosts: not a URL net/url parses, but the driver's form.
		{"auth failed: s3cr3t-pw", "mongodb://user:s3cr3t-pw@db1:27017,db2:27017/?replicaSet=rs0"},
		// Percent-encoded in the string, decoded in a message.
		{"auth failed: s3cr3t/pw and s3cr3t%2Fpw", "mongodb+srv://user:s3cr3t%2Fpw@cluster0.example.net/"},
	} {
		msg := redact(c.msg, c.url)
		if strings.Contains(msg, "s3cr3t") || !strings.Contains(msg, "<redacted>") {
			t.Errorf("redact(%q) = %q", c.msg, msg)
		}
	}
	if got := redact("no password here", "mongodb://db.example.com/"); got != "no password here" {
		t.Fatalf("redact without a password = %q", got)
	}
}

// WithPassword's known answers, each checked by the driver's own parser:
// the password it reads back is the one given, whatever characters it has.
func TestWithPassword(t *testing.T) {
	for _, c := range []struct{ url, password, want string }{
		{"mongodb://strongroom@mongo:27017/?authSource=admin", "pw", "mongodb://strongroom:pw@mongo:27017/?authSource=admin"},
		{"mongodb://strongroom@mongo:27017", "a b:c@d/e?f%g+h#i", "mongodb://strongroom:a%20b%3Ac%40d%2Fe%3Ff%25g%2Bh%23i@mongo:27017"},
		{"mongodb://app%40corp@db.example.net/secure_api", "Zz0-._~", "mongodb://app%40corp:Zz0-._~@db.example.net/secure_api"},
		{"mongodb://u@db1:27017,db2:27017/?replicaSet=rs0", "é€", "mongodb://u:%C3%A9%E2%82%AC@db1:27017,db2:27017/?replicaSet=rs0"},
	} {
		got, err := WithPassword(c.url, c.password)
		if err != nil || got != c.want {
			t.Errorf("WithPassword(%q) = %q, %v; want %q", c.url, got, err, c.want)
			continue
		}
		cs, err := connstring.ParseAndValidate(got)
		if err != nil {
			t.Errorf("the driver refuses %q: %v", got, err)
			continue
		}
		if cs.Password != c.password || !cs.PasswordSet {
			t.Errorf("the driver reads the password of %q as %q", got, cs.Password)
		}
	}
	for _, c := range []struct{ url, why string }{
		{"mongodb://mongo:27017/", "no user"},
		{"mongodb://mongo:27017/?authMechanismProperties=a@b", "no user (an @ in the query)"},
		{"mongodb://u:old@mongo:27017/", "a password already"},
		{"mongo:27017", "no scheme"},
		{"", "empty"},
	} {
		got, err := WithPassword(c.url, "n3w-s3cret")
		if err == nil {
			t.Errorf("WithPassword(%q) = %q, want an error (%s)", c.url, got, c.why)
		} else if strings.Contains(err.Error(), "n3w-s3cret") || (c.url != "" && strings.Contains(err.Error(), c.url)) {
			t.Errorf("WithPassword's error shows its input: %v", err)
		}
	}
}
