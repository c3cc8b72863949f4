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
		v, ok := pack(Claims{Subject: fmt.Sprintf("%024x", n), ID: fmt.Sprintf("%032x", n), IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
		if !ok {
			t.Fatal("claims as Issue makes them do not pack")
		}
		iss.remember(sha256.Sum256(b[:]), v)
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

// A cached token's claims are those its first check found, and a token
// whose subject or id is not lowercase hex of an ObjectId and a jti (no
// token Issue makes for a user) is checked in full every time, with the
// same claims, rather than cached as other ones.
func TestCachedClaims(t *testing.T) {
	iss, err := NewIssuer([]byte("0123456789abcdef0123456789abcdef"), time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, subject := range []string{"65a1b2c3d4e5f60718293a4b", "65A1B2C3D4E5F60718293A4B", "x"} {
		s, issued, err := iss.Issue(subject)
		if err != nil {
			t.Fatal(err)
		}
		first, err := iss.Verify(s)
		if err != nil {
			t.Fatal(err)
		}
		second, err := iss.Verify(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []Claims{first, second} {
			if c.Subject != subject || c.ID != issued.ID || !c.IssuedAt.Equal(issued.IssuedAt) || !c.ExpiresAt.Equal(issued.ExpiresAt) {
				t.Fatalf("%q: verified %+v, issued %+v", subject, c, issued)
			}
		}
		_, cached := iss.verified[sha256.Sum256([]byte(s))]
		if want := subject == "65a1b2c3d4e5f60718293a4b"; cached != want {
			t.Fatalf("%q: cached %v, want %v", subject, cached, want)
		}
	}
}
