package requestid

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestOf(t *testing.T) {
	cases := []struct {
		name   string
		values []string // the request's X-Request-Id headers
		kept   bool
	}{
		{"uuid", []string{"3f2b8c1e-7d4a-4e2b-9c1a-0b5d6e7f8a9b"}, true},
		{"letters, digits, dot, underscore, dash", []string{"Abc.def_123-XYZ"}, true},
		{"one character", []string{"a"}, true},
		{"64 characters", []string{strings.Repeat("a", 64)}, true},
		{"none", nil, false},
		{"empty", []string{""}, false},
		{"65 characters", []string{strings.Repeat("a", 65)}, false},
		{"CRLF and a header", []string{"abc\r\nSet-Cookie: x=1"}, false},
		{"newline", []string{"abc\ndef"}, false},
		{"space", []string{"abc def"}, false},
		{"quote", []string{`abc"def`}, false},
		{"slash", []string{"abc/def"}, false},
		{"JSON", []string{`{"a":1}`}, false},
		{"non-ASCII", []string{"abcé"}, false},
		{"NUL", []string{"abc\x00"}, false},
		{"two headers", []string{"abc", "def"}, false},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header[Header] = c.values
		got := Of(r)
		if kept := len(c.values) > 0 && got == c.values[0]; kept != c.kept {
			t.Errorf("%s: Of = %q, kept %v, want kept %v", c.name, got, kept, c.kept)
		}
		if !Valid(got) {
			t.Errorf("%s: Of = %q, which is not valid", c.name, got)
		}
	}
}

func TestNew(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := New()
		if len(id) != 26 || !Valid(id) || seen[id] {
			t.Fatalf("New = %q: want 26 valid characters, never seen before", id)
		}
		seen[id] = true
	}
}

func TestContext(t *testing.T) {
	if got := FromContext(context.Background()); got != "" {
		t.Fatalf("FromContext of a bare context = %q, want \"\"", got)
	}
	if got := FromContext(NewContext(context.Background(), "abc")); got != "abc" {
		t.Fatalf("FromContext = %q, want abc", got)
	}
}

// A line logged with a request's context carries its id, through With
// too; a line without one carries none; wrapping twice adds it once.
func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	log := Logger(Logger(slog.New(slog.NewJSONHandler(&buf, nil)))).With("component", "test")
	ctx := NewContext(context.Background(), "req-1")
	log.InfoContext(ctx, "with")
	log.Info("without")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %s", len(lines), buf.String())
	}
	var with, without map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &with)
	_ = json.Unmarshal([]byte(lines[1]), &without)
	if with[LogKey] != "req-1" || with["component"] != "test" || strings.Count(lines[0], LogKey) != 1 {
		t.Errorf("line with the context: %s", lines[0])
	}
	if _, ok := without[LogKey]; ok {
		t.Errorf("line without the context: %s", lines[1])
	}
}
