package audit

import (
	"bytes"
	"testing"
)

// TestEventIDs pins the ids users are given (clients keep them to page):
// known answers under a fixed key (checked with openssl: AES-256-ECB of
// eight zero bytes and the seq, under HMAC-SHA256(key, "audit-event-id")), the way back, and refusals of ids no
// server made.
func TestEventIDs(t *testing.T) {
	ids := NewEventIDs(bytes.Repeat([]byte{7}, 32))
	for seq, want := range map[int64]string{1: "64c5c46e11a36c9c3958aa3bf3866a9b", 2: "73f886402ed071b85fe99eec19d5daac", 1 << 40: "2aeb26405f028ba9f0506ab20c90d108"} {
		id := ids.ID(seq)
		if id != want {
			t.Errorf("ID(%d) = %s, want %s", seq, id, want)
		}
		if got, ok := ids.Seq(id); !ok || got != seq {
			t.Errorf("Seq(ID(%d)) = %d, %v", seq, got, ok)
		}
	}
	if ids.ID(1) == NewEventIDs(bytes.Repeat([]byte{8}, 32)).ID(1) {
		t.Fatal("two keys give the same id")
	}
	for _, bad := range []string{"", "1", "00000000000000000000000000000001", ids.ID(1)[:31] + "x", ids.ID(1) + "0",
		"0123456789abcdef0123456789abcdef", ids.ID(0), ids.ID(-5)} {
		if seq, ok := ids.Seq(bad); ok {
			t.Errorf("Seq(%q) = %d, accepted", bad, seq)
		}
	}
}
