package token

import (
	"crypto/sha256"
	"runtime"
	"testing"
	"time"
)

// TestVerifiedCacheBytes pins the cache of verified tokens to its memory
// bound: with three times as many tokens as it holds coming through, it
// holds maxVerified, no more, within VerifiedCacheBytes of heap.
func TestVerifiedCacheBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("fills the cache three times over: 136 000 tokens")
	}
	iss, err := NewIssuer([]byte("0123456789abcdef0123456789abcdef"), time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	toks := make([]string, 3*maxVerified)
	for n := range toks {
		if toks[n], _, err = iss.Issue("65a1b2c3d4e5f60718293a4b"); err != nil {
			t.Fatal(err)
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, tok := range toks {
		if _, err := iss.Verify(tok); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if n := len(iss.verified); n != maxVerified {
		t.Fatalf("cache holds %d tokens, want %d", n, maxVerified)
	}
	used := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d tokens cached in %.1f MiB (%d B each)", maxVerified, float64(used)/(1<<20), used/int64(maxVerified))
	if used > VerifiedCacheBytes {
		t.Fatalf("cache takes %d bytes, bound %d", used, VerifiedCacheBytes)
	}
	// The latest token is held: a full cache makes room, it does not empty.
	if _, ok := iss.verified[sha256.Sum256([]byte(toks[len(toks)-1]))]; !ok {
		t.Fatal("the token verified last is not cached")
	}
}
