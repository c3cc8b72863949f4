package otp_test

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/strongroom/strongroom/otp"
)

func TestNewCode(t *testing.T) {
	seen := map[string]bool{}
	firstDigit := map[byte]int{}
	for i := 0; i < 2000; i++ {
		c, err := otp.NewCode(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if !otp.ValidFormat(c) {
			t.Fatalf("code %q is not 6 digits", c)
		}
		seen[c] = true
		firstDigit[c[0]]++
	}
	if len(seen) < 1900 {
		t.Fatalf("only %d distinct codes in 2000", len(seen))
	}
	if len(firstDigit) != 10 {
		t.Fatalf("leading digits seen: %v (leading zeros must be kept)", firstDigit)
	}
}

func TestNewCodeRejectsBiasedDraws(t *testing.T) {
	// 0xffffffff is above the unbiased limit and must be redrawn; the next
	// draw 0x00000007 gives code 000007.
	r := bytes.NewReader([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 7})
	c, err := otp.NewCode(r)
	if err != nil || c != "000007" {
		t.Fatalf("NewCode = %q, %v; want 000007", c, err)
	}
}

func TestHashCheck(t *testing.T) {
	key := []byte("server key")
	h := otp.Hash(key, "chal1", "123456")
	if strings.Contains(h, "123456") {
		t.Fatal("hash holds the code")
	}
	cases := []struct {
		name, key, id, code string
		want                bool
	}{
		{"right", "server key", "chal1", "123456", true},
		{"wrong code", "server key", "chal1", "123457", false},
		{"other challenge", "server key", "chal2", "123456", false},
		{"other key", "other key", "chal1", "123456", false},
		{"id/code boundary", "server key", "chal11", "23456", false},
	}
	for _, c := range cases {
		if got := otp.Check([]byte(c.key), c.id, c.code, h); got != c.want {
			t.Errorf("%s: Check = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestValidFormat(t *testing.T) {
	for s, want := range map[string]bool{
		"000000": true, "123456": true, "12345": false, "1234567": false,
		"12a456": false, "١٢٣٤٥٦": false, "": false, " 23456": false,
	} {
		if got := otp.ValidFormat(s); got != want {
			t.Errorf("ValidFormat(%q) = %v, want %v", s, got, want)
		}
	}
}
