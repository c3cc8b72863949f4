package strongroom

import (
	"context"
	"strings"
	"testing"
)

func TestValidRequestID(t *testing.T) {
	for _, c := range []struct {
		name, id string
		valid    bool
	}{
		{"uuid", "3f2b8c1e-7d4a-4e2b-9c1a-0b5d6e7f8a9b", true},
		{"letters, digits, dot, underscore, dash", "Abc.def_123-XYZ", true},
		{"one character", "a", true},
		{"64 characters", strings.Repeat("a", 64), true},
		{"empty", "", false},
		{"65 characters", strings.Repeat("a", 65), false},
		{"CRLF and a header", "abc\r\nSet-Cookie: x=1", false},
		{"newline", "abc\ndef", false},
		{"space", "abc def", false},
		{"quote", `abc"def`, false},
		{"slash", "abc/def", false},
		{"JSON", `{"a":1}`, false},
		{"non-ASCII", "abcé", false},
		{"NUL", "abc\x00", false},
	} {
		if got := ValidRequestID(c.id); got != c.valid {
			t.Errorf("%s: ValidRequestID(%q) = %v, want %v", c.name, c.id, got, c.valid)
		}
	}
}

func TestNewRequestID(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := NewRequestID()
		if len(id) != 26 || !ValidRequestID(id) || seen[id] {
			t.Fatalf("NewRequestID = %q: want 26 valid characters, never seen before", id)
		}
		seen[id] = true
	}
}

func TestRequestContext(t *testing.T) {
	bare := context.Background()
	if RequestID(bare) != "" || ClientAddr(bare) != "" {
		t.Fatalf("a bare context carries request id %q, client %q; want none", RequestID(bare), ClientAddr(bare))
	}
	ctx := WithClientAddr(WithRequestID(bare, "abc"), "198.51.100.4")
	if RequestID(ctx) != "abc" || ClientAddr(ctx) != "198.51.100.4" {
		t.Fatalf("RequestID = %q, ClientAddr = %q; want abc, 198.51.100.4", RequestID(ctx), ClientAddr(ctx))
	}
}
