package otp_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"testing"

	"github.com/strongroom/strongroom/internal/testrand"
	"github.com/strongroom/strongroom/otp"
)

// The stored hashes of codes and recovery codes are pinned here: if their
// format or the key they are made with drifted, every pending code and
// every recovery code in every database would stop working at once. Each
// fixture was computed once from the code and is re-derived below from the
// standard library, so the test also says what the format is.

var fixturePepper = []byte("0123456789abcdef0123456789abcdef")

func hmacHex(key []byte, parts ...string) string {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write([]byte(p))
	}
	return hex.EncodeToString(m.Sum(nil))
}

func TestDeriveKeyFixture(t *testing.T) {
	const want = "5deda7839cbbb81dc06b810d041bc22202345c13b4aadb4a123605d014811d7a"
	got := hex.EncodeToString(otp.DeriveKey(fixturePepper))
	if got != want {
		t.Errorf("DeriveKey = %s\nwant        %s", got, want)
	}
	if again := hmacHex(fixturePepper, "strongroom/otp-key/v1"); again != want {
		t.Errorf("HMAC-SHA256(pepper, label) = %s, not the fixture", again)
	}
}

func TestHashFixture(t *testing.T) {
	key := otp.DeriveKey(fixturePepper)
	const id, code = "65a000000000000000000001", "123456"
	const want = "7f6cbef5c256e4deaac1fb88e46deab16ac65265d65aad96b0804a497434ec53"
	if got := otp.Hash(key, id, code); got != want {
		t.Errorf("Hash = %s\nwant    %s", got, want)
	}
	if again := hmacHex(key, id, "\x00", code); again != want {
		t.Errorf("HMAC-SHA256(key, id 0x00 code) = %s, not the fixture", again)
	}
	if !otp.Check(key, id, code, want) {
		t.Error("Check refuses the fixture")
	}
}

func TestRecoveryHashFixture(t *testing.T) {
	key := otp.DeriveKey(fixturePepper)
	const user = "65a000000000000000000001"
	const want = "7ca892f0a09d49bfbeaa4544c1898439291ff40c5d7180ffb42e3a4fe4e276bb"
	// Every way of typing the code is the same code.
	for _, typed := range []string{"K7QXM-3ZP2A", "k7qxm3zp2a", " K7QXM3ZP2A "} {
		if got := otp.RecoveryHash(key, user, typed); got != want {
			t.Errorf("RecoveryHash(%q) = %s\nwant                 %s", typed, got, want)
		}
	}
	if again := hmacHex(key, "recovery\x00", user, "\x00", "K7QXM-3ZP2A"); again != want {
		t.Errorf("HMAC-SHA256(key, recovery 0x00 user 0x00 code) = %s, not the fixture", again)
	}
}

// The codes shown to users are pinned too: base32 (RFC 4648, no padding) of
// 7 random bytes, the first 10 characters, with a dash after the fifth.
func TestRecoveryCodesFixture(t *testing.T) {
	codes, err := otp.NewRecoveryCodes(&testrand.Counter{}, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"AAAQE-AYEAU", "A4EAS-CQLBQ"}
	for i := range want {
		if codes[i] != want[i] {
			t.Errorf("code %d = %s, want %s", i, codes[i], want[i])
		}
		raw := make([]byte, 7)
		for j := range raw {
			raw[j] = byte(7*i + j)
		}
		s := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw)[:10]
		if again := s[:5] + "-" + s[5:]; again != want[i] {
			t.Errorf("base32 of bytes %d..%d = %s, not the fixture", 7*i, 7*i+6, again)
		}
	}
}
