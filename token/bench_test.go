package token_test

import (
	"testing"
	"time"
)

// BenchmarkVerify is a request's token check: the same token each time, as
// a client sends it, so after the first check it is a cache hit.
func BenchmarkVerify(b *testing.B) {
	i := mustIssuer(b, &clock{time.Now()})
	tok, _, _ := i.Issue("65a000000000000000000001")
	for b.Loop() {
		if _, err := i.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyFirst is a token's first check: parse, HMAC, claims.
func BenchmarkVerifyFirst(b *testing.B) {
	c := &clock{time.Now()}
	toks := make([]string, 0, 1024)
	i := mustIssuer(b, c)
	for range 1024 {
		t, _, _ := i.Issue("65a000000000000000000001")
		toks = append(toks, t)
	}
	n := 0
	for b.Loop() {
		v := mustIssuer(b, c) // a fresh issuer has an empty cache
		if _, err := v.Verify(toks[n%len(toks)]); err != nil {
			b.Fatal(err)
		}
		n++
	}
}
