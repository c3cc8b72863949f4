package passkey_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/strongroom/strongroom/internal/softpasskey"
	"github.com/strongroom/strongroom/passkey"
)

// The user handle is in every passkey an authenticator holds: it must
// never change for an account, so its form is pinned, and restated from
// the standard library: HMAC-SHA256(HMAC-SHA256(pepper,
// "strongroom/passkey-handle/v1"), user id).
func TestHandle(t *testing.T) {
	pepper := []byte("a pepper of at least 32 bytes, for tests")
	rp, err := passkey.New("https://vault.example.com", "Strongroom", pepper)
	if err != nil {
		t.Fatal(err)
	}
	const want = "a261d6c343fdd331c13233348c134cb183228ea6fb0006709c99cbd4c0b33b15"
	got := rp.Handle("6927f4f0c1a2b3c4d5e6f701")
	if hex.EncodeToString(got) != want {
		t.Fatalf("Handle = %x, want %s", got, want)
	}
	k := hmac.New(sha256.New, pepper)
	k.Write([]byte("strongroom/passkey-handle/v1"))
	m := hmac.New(sha256.New, k.Sum(nil))
	m.Write([]byte("6927f4f0c1a2b3c4d5e6f701"))
	if !bytes.Equal(got, m.Sum(nil)) {
		t.Fatal("Handle is not HMAC-SHA256(HandleKey(pepper), id)")
	}
	other, _ := passkey.New("https://vault.example.com", "Strongroom", []byte("another pepper, 32 bytes or longer"))
	if bytes.Equal(other.Handle("6927f4f0c1a2b3c4d5e6f701"), got) || bytes.Equal(rp.Handle("6927f4f0c1a2b3c4d5e6f702"), got) {
		t.Fatal("the handle does not depend on the pepper and the id")
	}
}

// A public URL must be an origin whose host is a name.
func TestNew(t *testing.T) {
	for _, ok := range []string{"https://vault.example.com", "http://localhost:8000", "https://vault.example.com:8443/", "http://app.localhost:8000"} {
		rp, err := passkey.New(ok, "Strongroom", nil)
		if err != nil {
			t.Fatalf("New(%q): %v", ok, err)
		}
		if want := strings.TrimSuffix(ok, "/"); rp.Origin() != want {
			t.Fatalf("Origin() = %q, want %q", rp.Origin(), want)
		}
	}
	for _, bad := range []string{"", "vault.example.com", "ftp://vault.example.com", "https://127.0.0.1:8000", "http://[::1]:8000",
		"https://vault.example.com/app", "https://user@vault.example.com", "https://vault.example.com?x=1", "http://vault.example.com"} {
		if _, err := passkey.New(bad, "Strongroom", nil); err == nil {
			t.Fatalf("New(%q) accepted", bad)
		}
	}
}

// A registration and a sign-in round trip, and the refusals made here:
// another origin, another account's passkey, junk. Which challenges are
// live is the caller's to check (Challenge is exposed for it).
func TestRoundTrip(t *testing.T) {
	rp, err := passkey.New("http://localhost:8000", "Strongroom", []byte("pepper"))
	if err != nil {
		t.Fatal(err)
	}
	const user = "6927f4f0c1a2b3c4d5e6f701"
	c, err := rp.BeginRegistration(user, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	a := &softpasskey.Authenticator{Origin: "http://localhost:8000"}
	answer, cred, err := a.Create(c.Options)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := passkey.ParseRegistration(answer)
	if err != nil || reg.Challenge != c.Challenge {
		t.Fatalf("ParseRegistration: %v (challenge %q, want %q)", err, reg.Challenge, c.Challenge)
	}
	// (Whose passkey it is comes from the challenge alone, which the
	// caller binds to the session that asked: an attestation does not
	// name the user.)
	pk, err := rp.Verify(reg, user)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pk.CredentialID, cred.ID) || pk.UserID != user || len(pk.PublicKey) == 0 {
		t.Fatalf("passkey %+v", pk)
	}

	login, err := rp.BeginLogin()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(login.Options), "alice") || strings.Contains(string(login.Options), "allowCredentials") {
		t.Fatalf("sign-in options name the account: %s", login.Options)
	}
	signed, err := a.Get(login.Options, cred)
	if err != nil {
		t.Fatal(err)
	}
	as, err := passkey.ParseAssertion(signed)
	if err != nil || as.Challenge != login.Challenge || !bytes.Equal(as.CredentialID, cred.ID) {
		t.Fatalf("ParseAssertion: %v", err)
	}
	use, err := rp.VerifyAssertion(as, pk)
	if err != nil || use.SignCount != 1 {
		t.Fatalf("VerifyAssertion: %+v, %v", use, err)
	}
	other := *pk
	other.UserID = "6927f4f0c1a2b3c4d5e6f702"
	if _, err := rp.VerifyAssertion(as, &other); err == nil {
		t.Fatal("an assertion verified for a passkey of another account")
	}
	evil := &softpasskey.Authenticator{Origin: "http://localhost:8001"}
	signed, _ = evil.Get(login.Options, cred)
	as, _ = passkey.ParseAssertion(signed)
	pk.SignCount = use.SignCount
	if _, err := rp.VerifyAssertion(as, pk); err == nil {
		t.Fatal("an assertion for another origin verified")
	}
	for _, junk := range []string{"", "{}", `{"id":"x","type":"public-key"}`, "null"} {
		if _, err := passkey.ParseAssertion([]byte(junk)); err == nil {
			t.Fatalf("ParseAssertion(%q) accepted", junk)
		}
		if _, err := passkey.ParseRegistration([]byte(junk)); err == nil {
			t.Fatalf("ParseRegistration(%q) accepted", junk)
		}
	}
}
