package otp

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"image/png"
	"io"
	"strings"
	"time"

	potp "github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP rules: RFC 6238 with SHA-1, 6 digits and 30-second steps, the
// settings every authenticator app understands; a code of the step before
// or after is accepted too, for clock drift.
const (
	TOTPPeriod = 30
	TOTPSkew   = 1
	Issuer     = "Strongroom"
)

var totpOpts = totp.ValidateOpts{Period: TOTPPeriod, Skew: 0, Digits: potp.DigitsSix, Algorithm: potp.AlgorithmSHA1}

// NewTOTP makes a random 160-bit TOTP secret for account and returns it
// (base32, as apps show it) with its otpauth:// enrollment URL.
func NewTOTP(r io.Reader, account string) (secret, url string, err error) {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: Issuer, AccountName: account, Period: TOTPPeriod,
		SecretSize: 20, Digits: potp.DigitsSix, Algorithm: potp.AlgorithmSHA1, Rand: r})
	if err != nil {
		return "", "", fmt.Errorf("otp: new totp: %w", err)
	}
	return k.Secret(), k.URL(), nil
}

// TOTPURL returns the otpauth:// URL of an existing secret.
func TOTPURL(secret, account string) (string, error) {
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(secret))
	if err != nil {
		return "", fmt.Errorf("otp: bad totp secret")
	}
	k, err := totp.Generate(totp.GenerateOpts{Issuer: Issuer, AccountName: account, Period: TOTPPeriod,
		Secret: raw, Digits: potp.DigitsSix, Algorithm: potp.AlgorithmSHA1})
	if err != nil {
		return "", fmt.Errorf("otp: totp url: %w", err)
	}
	return k.URL(), nil
}

// QRCode renders an otpauth:// URL as a PNG QR code of size×size pixels.
func QRCode(url string, size int) ([]byte, error) {
	k, err := potp.NewKeyFromURL(url)
	if err != nil {
		return nil, fmt.Errorf("otp: %w", err)
	}
	img, err := k.Image(size, size)
	if err != nil {
		return nil, fmt.Errorf("otp: qr: %w", err)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("otp: png: %w", err)
	}
	return b.Bytes(), nil
}

// TOTPStep returns the 30-second step number of t.
func TOTPStep(t time.Time) int64 { return t.Unix() / TOTPPeriod }

// MatchTOTP checks code against secret at now, allowing one step of drift
// either way, and returns the step that matched. The caller refuses a step
// that was already used, so a code cannot be replayed.
func MatchTOTP(secret, code string, now time.Time) (step int64, ok bool) {
	if !ValidFormat(code) {
		return 0, false
	}
	base := TOTPStep(now)
	for d := int64(-TOTPSkew); d <= TOTPSkew; d++ {
		s := base + d
		want, err := totp.GenerateCodeCustom(secret, time.Unix(s*TOTPPeriod, 0), totpOpts)
		if err == nil && hmac.Equal([]byte(want), []byte(code)) {
			return s, true
		}
	}
	return 0, false
}

// Recovery codes: 10 per user, each 10 characters of base32 (50 bits),
// shown once as XXXXX-XXXXX and stored only as a keyed hash.
const RecoveryCodes = 10

var recoveryEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewRecoveryCodes returns n fresh recovery codes.
func NewRecoveryCodes(r io.Reader, n int) ([]string, error) {
	out := make([]string, n)
	for i := range out {
		var b [7]byte // 56 bits, of which 50 are used
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("otp: %w", err)
		}
		s := recoveryEncoding.EncodeToString(b[:])[:10]
		out[i] = s[:5] + "-" + s[5:]
	}
	return out, nil
}

// NormalizeRecoveryCode returns the canonical form of something that looks
// like a recovery code (case and dashes ignored), or "" if it does not.
func NormalizeRecoveryCode(s string) string {
	s = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), "-", ""))
	if len(s) != 10 {
		return ""
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '7') {
			return ""
		}
	}
	return s[:5] + "-" + s[5:]
}

// RecoveryHash is the stored form of a user's recovery code:
// hex(HMAC-SHA256(key, "recovery" ‖ 0x00 ‖ userID ‖ 0x00 ‖ the normalized code)).
func RecoveryHash(key []byte, userID, code string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("recovery\x00" + userID + "\x00" + NormalizeRecoveryCode(code)))
	return hex.EncodeToString(m.Sum(nil))
}
