// Package otp makes and checks one-time codes mailed to users.
//
// A code is 6 decimal digits drawn uniformly from a CSPRNG. Only a keyed
// hash of it is stored: HMAC-SHA256 under a server key, over the challenge
// id and the code, so a copy of the database does not reveal live codes
// (a plain hash of a 6-digit code would be reversed in a millisecond).
package otp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"time"
)

// Rules for email codes.
const (
	Digits      = 6
	TTL         = 5 * time.Minute
	MaxAttempts = 5
)

// NewCode returns a uniformly random 6-digit code read from r.
func NewCode(r io.Reader) (string, error) {
	const limit = 4_294_000_000 // largest multiple of 10^6 below 2^32: no modulo bias
	var b [4]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return "", fmt.Errorf("otp: %w", err)
		}
		n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		if n < limit {
			return fmt.Sprintf("%06d", n%1_000_000), nil
		}
	}
}

// ValidFormat reports whether s looks like a code: exactly 6 ASCII digits.
func ValidFormat(s string) bool {
	if len(s) != Digits {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// keyLabel names the OTP key's derivation; changing it changes every
// stored code and recovery-code hash.
const keyLabel = "strongroom/otp-key/v1"

// DeriveKey returns the key the stored hashes of mailed codes and recovery
// codes are made with: HMAC-SHA256(pepper, "strongroom/otp-key/v1"). It is
// derived from the pepper so that there is no third secret to keep, and
// under a label of its own so that it is never the pepper itself.
func DeriveKey(pepper []byte) []byte {
	m := hmac.New(sha256.New, pepper)
	m.Write([]byte(keyLabel))
	return m.Sum(nil)
}

// Hash returns the stored form of a code for one challenge:
// hex(HMAC-SHA256(key, challengeID ‖ 0x00 ‖ code)).
func Hash(key []byte, challengeID, code string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(challengeID))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return hex.EncodeToString(m.Sum(nil))
}

// Check reports whether code matches the stored hash, in constant time.
func Check(key []byte, challengeID, code, hash string) bool {
	want := Hash(key, challengeID, code)
	return hmac.Equal([]byte(want), []byte(hash))
}
