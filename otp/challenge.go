package otp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"time"
)

// A login challenge is the opaque value /login hands a client whose
// password was accepted for an account with a second factor. It binds the
// second step to that client: whoever holds a second factor but not the
// password has no challenge, and without one a code is not even looked at.
// It is 32 random bytes (256 bits) in unpadded base64url; the store keeps
// only its keyed hash, so a copy of the database holds no live challenge.

// ChallengeTTL is how long a login's second step may take.
const ChallengeTTL = TTL

// challengeLen is the length of a challenge's text form.
const challengeLen = 43

// NewChallenge returns a fresh login challenge read from r.
func NewChallenge(r io.Reader) (string, error) {
	var b [32]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("otp: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// ValidChallenge reports whether s has the shape of a challenge.
func ValidChallenge(s string) bool {
	if len(s) != challengeLen {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil
}

// ChallengeHash is the stored form of a login challenge, by which the store
// finds it.
func ChallengeHash(key []byte, challenge string) string {
	return lookupHash(key, "login-challenge", challenge)
}

// SetupTTL is how long an authenticator setup may wait for its confirm.
const SetupTTL = 15 * time.Minute

// SetupHash is the stored form of an authenticator setup's id (made like
// a challenge): only the client that started the setup can show its QR
// code or confirm it, not whoever else holds the bearer token.
func SetupHash(key []byte, setupID string) string {
	return lookupHash(key, "totp-setup", setupID)
}

// BypassHash is the stored form of the pass that /unlock gives the client
// address it came from: for a while, that address may log in despite a
// lock that strangers put back.
func BypassHash(key []byte, username, client string) string {
	return lookupHash(key, "unlocked", username+"\x00"+client)
}

// UnlockTTL is how long a mailed unlock code works.
const UnlockTTL = 15 * time.Minute

// UnlockHash is the stored form of an account's unlock code, by which the
// store finds it. It is keyed by the username, so one lookup answers for
// known and unknown users alike. code is in any form NormalizeRecoveryCode
// accepts (unlock codes look like recovery codes).
func UnlockHash(key []byte, username, code string) string {
	return lookupHash(key, "unlock", username+"\x00"+NormalizeRecoveryCode(code))
}

// UnknownNameHash is the stored form of a username that names no account,
// by which its failed logins are counted (login_failures): a name typed at
// login may be a password typed into the wrong box, so it is not stored.
func UnknownNameHash(key []byte, username string) string {
	return lookupHash(key, "unknown-login", username)
}

func lookupHash(key []byte, purpose, value string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}

// PasskeyRegistrationHash is the stored form of a passkey registration's
// challenge: bound to the session (token id) that began it, so only that
// session can finish it.
func PasskeyRegistrationHash(key []byte, tokenID, challenge string) string {
	return lookupHash(key, "passkey-register", tokenID+"\x00"+challenge)
}

// PasskeyLoginHash is the stored form of a passkey sign-in's challenge.
func PasskeyLoginHash(key []byte, challenge string) string {
	return lookupHash(key, "passkey-login", challenge)
}
