package token

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"
	"time"
)

// TestVerifiedCacheBytes pins the cache of verified tokens to its memory
// bound: with three times as many tokens as it holds coming through, it
// holds maxVerified, no more, within VerifiedCacheBytes of heap. The
// entries are made as Verify makes them (a token's hash; claims with a
// 24-character subject and a 32-character id), without signing and
// parsing 136 000 tokens; a real token checked last is held.
func TestVerifiedCacheBytes(t *testing.T) {
	iss, err := NewIssuer([]byte("0123456789abcdef0123456789abcdef"), time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	last, _, err := iss.Issue("65a1b2c3d4e5f60718293a4b")
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	now := time.Now()
	for n := range 3 * maxVerified {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(n))
		iss.remember(sha256.Sum256(b[:]), Claims{Subject: fmt.Sprintf("%024x", n), ID: fmt.Sprintf("%032x", n), IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
	}
	if _, err := iss.Verify(last); err != nil {
		t.Fatal(err)
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
	if _, ok := iss.verified[sha256.Sum256([]byte(last))]; !ok {
		t.Fatal("the token verified last is not cached")
	}
}
