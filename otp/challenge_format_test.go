package otp_test

import (
	"testing"

	"github.com/strongroom/strongroom/internal/testrand"
	"github.com/strongroom/strongroom/otp"
)

// The lookup hashes by which the store finds a login challenge, an unlock
// code, an authenticator setup and an unlock pass are pinned like the code
// hashes: if they drifted, every pending login, lock and setup would stop
// working at once. Each is HMAC-SHA256(key, purpose 0x00 value), in hex.

// fixtureChallenge is what NewChallenge makes of the bytes 0, 1, ..., 31.
const fixtureChallenge = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"

func TestChallengeFixture(t *testing.T) {
	got, err := otp.NewChallenge(&testrand.Counter{})
	if err != nil || got != fixtureChallenge {
		t.Fatalf("NewChallenge = %q, %v; want %q (unpadded base64url of 32 bytes)", got, err, fixtureChallenge)
	}
	if !otp.ValidChallenge(got) {
		t.Fatal("ValidChallenge refuses a challenge")
	}
	for _, bad := range []string{"", got[:42], got + "A", got[:42] + "=", got[:42] + "+", got[:42] + "h"} {
		if otp.ValidChallenge(bad) {
			t.Errorf("ValidChallenge(%q) = true", bad)
		}
	}
}

func TestLookupHashFixtures(t *testing.T) {
	key := otp.DeriveKey(fixturePepper)
	for _, c := range []struct {
		name, got, want string
		parts           []string
	}{
		{"ChallengeHash", otp.ChallengeHash(key, fixtureChallenge),
			"3aa88572f198693d319f83a0424a90745ff5af43fdb7984675e484e2d09c6b15",
			[]string{"login-challenge", "\x00", fixtureChallenge}},
		{"UnlockHash", otp.UnlockHash(key, "victim", "k7qxm3zp2a"), // any typing of the code
			"c87e0c5fcf78567fd07b1bf6e22a37f9773d0db1e095668bdb5b026020bc4007",
			[]string{"unlock", "\x00", "victim\x00K7QXM-3ZP2A"}},
		{"SetupHash", otp.SetupHash(key, fixtureChallenge),
			"56ea2e8d656e7b1b88c4784ee3177f0802567c1e8b93543225cbcfc05d2d28b9",
			[]string{"totp-setup", "\x00", fixtureChallenge}},
		{"BypassHash", otp.BypassHash(key, "victim", "127.0.0.1"),
			"72bf3075fa1cde06316e7e8c073f6947d776cecfda88175cb144872ccfa13df6",
			[]string{"unlocked", "\x00", "victim\x00127.0.0.1"}},
		{"UnknownNameHash", otp.UnknownNameHash(key, "hunter2.secret-pw"),
			"1f10eb4ef3f8bc5a1bab6364604ddce4bf45f7ad0b5d92699dc2b0d85a5281fd",
			[]string{"unknown-login", "\x00", "hunter2.secret-pw"}},
	} {
		if c.got != c.want {
			t.Errorf("%s = %s\nwant %s", c.name, c.got, c.want)
		}
		if again := hmacHex(key, c.parts...); again != c.want {
			t.Errorf("%s: HMAC-SHA256 of its parts = %s, not the fixture", c.name, again)
		}
	}
}
