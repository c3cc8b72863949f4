package password_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/strongroom/strongroom/internal/testrand"
	"github.com/strongroom/strongroom/password"
)

// The stored password format is pinned here: if the pre-hash or the bcrypt
// encoding drifted (base64 to hex, another HMAC order, another bcrypt
// variant), no existing user could log in again. The fixtures were
// computed once from the code and are re-derived below from the standard
// library and golang.org/x/crypto/bcrypt, so the test also states the
// format: bcrypt over base64(HMAC-SHA256(pepper, salt ‖ password)), where
// salt is the stored hex string.

const (
	fixturePassword = "StrongP@ssw0rd1!"
	// The hex of bytes 0..15: the salt Hash makes from testrand.Counter.
	fixtureSalt = "000102030405060708090a0b0c0d0e0f"
)

func TestPrehashFixture(t *testing.T) {
	h := mustHasher(t, bcrypt.MinCost)
	const want = "zVSFkPU6BZF8+1tM39Ht+W5nws6+OSgVZ6EEVoc9d3U="
	if got := string(password.Prehash(h, fixtureSalt, fixturePassword)); got != want {
		t.Errorf("prehash = %s\nwant      %s", got, want)
	}
	m := hmac.New(sha256.New, pepper)
	m.Write([]byte(fixtureSalt + fixturePassword))
	if again := base64.StdEncoding.EncodeToString(m.Sum(nil)); again != want {
		t.Errorf("base64(HMAC-SHA256(pepper, salt‖password)) = %s, not the fixture", again)
	}
}

func TestStoredHashFixture(t *testing.T) {
	ctx := context.Background()
	h := mustHasher(t, bcrypt.MinCost)
	// Hash reads our 16-byte salt, then bcrypt's 16-byte salt.
	hash, salt, err := h.Hash(ctx, &testrand.Counter{}, fixturePassword)
	if err != nil {
		t.Fatal(err)
	}
	const want = "$2a$04$C/CQCvOTDfaWEPmZF/ycFuF6Kj.YkoySPiJLqQwNuN/C2xDZlw0qy"
	if salt != fixtureSalt || hash != want {
		t.Errorf("Hash = %s, %s\nwant   %s, %s", hash, salt, want, fixtureSalt)
	}
	// bcrypt's salt is bytes 16..31, in bcrypt's own base64 alphabet.
	bcryptB64 := base64.NewEncoding("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789").WithPadding(base64.NoPadding)
	raw, _ := hex.DecodeString("101112131415161718191a1b1c1d1e1f")
	if prefix := "$2a$04$" + bcryptB64.EncodeToString(raw); !strings.HasPrefix(want, prefix) {
		t.Errorf("fixture does not start with %s", prefix)
	}
	m := hmac.New(sha256.New, pepper)
	m.Write([]byte(fixtureSalt + fixturePassword))
	pre := base64.StdEncoding.EncodeToString(m.Sum(nil))
	if err := bcrypt.CompareHashAndPassword([]byte(want), []byte(pre)); err != nil {
		t.Errorf("x/crypto/bcrypt does not accept the fixture for the pre-hash: %v", err)
	}
	if ok, err := h.Verify(ctx, fixturePassword, want, fixtureSalt); !ok || err != nil {
		t.Errorf("Verify(fixture) = %v, %v", ok, err)
	}
}
