package passkey_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/strongroom/strongroom/internal/softpasskey"
	"github.com/strongroom/strongroom/passkey"
)

// The user handle is in every passkey an authenticator holds: it must
// never change for an account, so its form is pinned.
func TestHandle(t *testing.T) {
	want := []byte{0x69, 0x27, 0xf4, 0xf0, 0xc1, 0xa2, 0xb3, 0xc4, 0xd5, 0xe6, 0xf7, 0x01}
	if got := passkey.Handle("6927f4f0c1a2b3c4d5e6f701"); !bytes.Equal(got, want) {
		t.Fatalf("Handle = %x, want %x", got, want)
	}
	for _, bad := range []string{"", "6927f4f0c1a2b3c4d5e6f70", "6927f4f0c1a2b3c4d5e6f70g", "../../etc/passwd"} {
		if h := passkey.Handle(bad); h != nil {
			t.Fatalf("Handle(%q) = %x, want none", bad, h)
		}
	}
}

// A public URL must be an origin whose host is a name.
func TestNew(t *testing.T) {
	for _, ok := range []string{"https://vault.example.com", "http://localhost:8000", "https://vault.example.com:8443/", "http://app.localhost:8000"} {
		rp, err := passkey.New(ok, "Strongroom")
		if err != nil {
			t.Fatalf("New(%q): %v", ok, err)
		}
		if want := strings.TrimSuffix(ok, "/"); rp.Origin() != want {
			t.Fatalf("Origin() = %q, want %q", rp.Origin(), want)
		}
	}
	for _, bad := range []string{"", "vault.example.com", "ftp://vault.example.com", "https://127.0.0.1:8000", "http://[::1]:8000",
		"https://vault.example.com/app", "https://user@vault.example.com", "https://vault.example.com?x=1", "http://vault.example.com"} {
		if _, err := passkey.New(bad, "Strongroom"); err == nil {
			t.Fatalf("New(%q) accepted", bad)
		}
	}
}

// A registration and a sign-in round trip, and the refusals made here:
// another origin, another account's passkey, junk. Which challenges are
// live is the caller's to check (Challenge is exposed for it).
func TestRoundTrip(t *testing.T) {
	rp, err := passkey.New("http://localhost:8000", "Strongroom")
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
