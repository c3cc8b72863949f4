package main

import (
	"strings"
	"testing"
)

// FuzzRequestBodies sends arbitrary bodies to every endpoint that decodes
// one. Whatever arrives, the server answers 2xx or a 4xx with a detail
// (never a 5xx), and never echoes the body back in an error.
func FuzzRequestBodies(f *testing.F) {
	s := startServer(f, testConfig(f, f.TempDir()))
	s.register("fuzzer", seedPassword)
	tok := s.login("fuzzer", seedPassword)
	for _, seed := range []string{
		`{"username": "testuser", "email": "test@example.com", "password": "StrongP@ssw0rd1!"}`,
		`{"username": {"$ne": null}, "password": {"$gt": ""}}`,
		`{"data_type": "card_number", "value": "1234567812345678"}`,
		`{"username": "fuzzer", "otp": "123456"}`,
		`{"username": "a\u0000b", "password": "\ud800"}`,
		`[]`, `null`, `"x"`, `{"a":`, `{"username": "x", "username": "y"}`,
	} {
		f.Add(seed)
	}
	paths := []string{"/register", "/login", "/sensitive-data", "/send-otp", "/verify-otp", "/change-password", "/2fa/recovery-codes"}
	f.Fuzz(func(t *testing.T, body string) {
		s.t = t
		for _, path := range paths {
			r := s.do("POST", path, tok, body)
			if r.Status >= 500 && r.Status != 503 {
				t.Fatalf("POST %s %q: status %d %s", path, body, r.Status, r.Raw)
			}
			if r.Status >= 400 {
				if d, _ := r.JSON["detail"].(string); d == "" {
					t.Fatalf("POST %s %q: %d without a detail: %s", path, body, r.Status, r.Raw)
				}
				if len(body) >= 12 && strings.Contains(r.Raw, body) {
					t.Fatalf("POST %s: the error echoes the body: %s", path, r.Raw)
				}
			}
		}
	})
}
