package otp_test

import (
	"bytes"
	"crypto/rand"
	"image/png"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/strongroom/strongroom/otp"
)

// RFC 6238 appendix B, SHA-1 rows, truncated to 6 digits (the last six of
// the published 8-digit values). The secret is the ASCII "12345678901234567890".
const rfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

var rfcVectors = []struct {
	unix int64
	code string
}{
	{59, "287082"},
	{1111111109, "081804"},
	{1111111111, "050471"},
	{1234567890, "005924"},
	{2000000000, "279037"},
	{20000000000, "353130"},
}

func TestTOTPMatchesRFC6238(t *testing.T) {
	for _, v := range rfcVectors {
		now := time.Unix(v.unix, 0)
		step, ok := otp.MatchTOTP(rfcSecret, v.code, now)
		if !ok || step != v.unix/30 {
			t.Errorf("T=%d code %s: step %d ok %v; want step %d", v.unix, v.code, step, ok, v.unix/30)
		}
	}
}

func TestTOTPDriftWindow(t *testing.T) {
	v := rfcVectors[3] // T=1234567890, step 41152263
	for _, c := range []struct {
		offset time.Duration
		ok     bool
	}{
		{0, true}, {29 * time.Second, true}, {-30 * time.Second, true}, {59 * time.Second, true},
		{90 * time.Second, false}, {-61 * time.Second, false},
	} {
		_, ok := otp.MatchTOTP(rfcSecret, v.code, time.Unix(v.unix, 0).Add(c.offset))
		if ok != c.ok {
			t.Errorf("offset %v: ok %v, want %v", c.offset, ok, c.ok)
		}
	}
	if _, ok := otp.MatchTOTP(rfcSecret, "005925", time.Unix(v.unix, 0)); ok {
		t.Error("a wrong code matched")
	}
	if _, ok := otp.MatchTOTP(rfcSecret, "5924", time.Unix(v.unix, 0)); ok {
		t.Error("a short code matched")
	}
}

func TestNewTOTPAndQR(t *testing.T) {
	secret, u, err := otp.NewTOTP(rand.Reader, "testuser")
	if err != nil {
		t.Fatal(err)
	}
	if len(secret) != 32 {
		t.Fatalf("secret %q: want 32 base32 characters (160 bits)", secret)
	}
	parsed, err := url.Parse(u)
	if err != nil || parsed.Scheme != "otpauth" || parsed.Host != "totp" || parsed.Query().Get("secret") != secret ||
		parsed.Query().Get("issuer") != "Strongroom" || !strings.Contains(parsed.Path, "testuser") {
		t.Fatalf("otpauth url %q", u)
	}
	again, err := otp.TOTPURL(secret, "testuser")
	if err != nil || again != u {
		t.Fatalf("TOTPURL = %q, %v; want %q", again, err, u)
	}
	b, err := otp.QRCode(u, 256)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil || img.Bounds().Dx() != 256 {
		t.Fatalf("QR png: %v, %v", img.Bounds(), err)
	}
}

func TestRecoveryCodes(t *testing.T) {
	codes, err := otp.NewRecoveryCodes(rand.Reader, otp.RecoveryCodes)
	if err != nil || len(codes) != 10 {
		t.Fatal(codes, err)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if otp.NormalizeRecoveryCode(c) != c || seen[c] {
			t.Fatalf("code %q malformed or repeated", c)
		}
		seen[c] = true
	}
	key := []byte("k")
	h := otp.RecoveryHash(key, "u1", codes[0])
	if otp.RecoveryHash(key, "u1", strings.ToLower(strings.ReplaceAll(codes[0], "-", ""))) != h {
		t.Fatal("case or dash changed the hash")
	}
	if otp.RecoveryHash(key, "u2", codes[0]) == h || otp.RecoveryHash([]byte("other"), "u1", codes[0]) == h {
		t.Fatal("the hash does not bind the user and the key")
	}
	for _, bad := range []string{"", "123456", "ABCDE-FGHI", "ABCDE-FGHI1", "ABCDE-FGHIJK"} {
		if otp.NormalizeRecoveryCode(bad) != "" {
			t.Errorf("%q taken for a recovery code", bad)
		}
	}
}
