package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // to read the store's file as an outsider would

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/localkms"
)

// forms returns the byte strings under which a secret might be stored.
func forms(b []byte) [][]byte {
	return [][]byte{b, []byte(hex.EncodeToString(b)), []byte(base64.StdEncoding.EncodeToString(b)), []byte(base64.RawURLEncoding.EncodeToString(b))}
}

// secretsAtRest returns, after a walk-through, every secret that must never
// be stored in clear: the user's data key (unwrapped here, as only the key
// manager can), every master key, the password and the card numbers, each
// in raw, hex and base64 form.
// mistypedName is a password typed into a login's name box.
const mistypedName = "hunter2.secret-pw"

func secretsAtRest(t *testing.T, s *testServer) [][]byte {
	t.Helper()
	ctx := context.Background()
	dir := s.Config.DataDir
	kms, err := localkms.Open(filepath.Join(dir, localkms.FileName))
	if err != nil {
		t.Fatal(err)
	}
	var secrets [][]byte
	u, err := s.Store.UserByUsername(ctx, seedUser)
	if err != nil {
		t.Fatal(err)
	}
	wk, err := s.Store.UserKey(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	dek, err := strongroom.UnwrapOne(ctx, kms, u.ID, wk)
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, forms(dek)...)
	var ring struct{ Versions []struct{ Key string } }
	b, _ := os.ReadFile(filepath.Join(dir, localkms.FileName))
	if err := json.Unmarshal(b, &ring); err != nil || len(ring.Versions) != 1 {
		t.Fatalf("keyring after rotation: %d versions, %v", len(ring.Versions), err)
	}
	for _, v := range ring.Versions {
		raw, _ := base64.StdEncoding.DecodeString(v.Key)
		secrets = append(secrets, forms(raw)...)
	}
	for _, p := range []string{seedPassword, seedCard, seedCard2, keptCard} {
		secrets = append(secrets, forms([]byte(p))...)
	}
	return secrets
}

// TestNothingInClearAtRest runs the walk-through, stops the server, and
// searches the SQLite files for every secret.
func TestNothingInClearAtRest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, testConfig(t, dir))
	seen := walkthrough(t, s)
	secrets := secretsAtRest(t, s)
	// The login challenge is stored only as a keyed hash.
	challenge := seen[len(seen)-1]
	raw, err := base64.RawURLEncoding.DecodeString(challenge)
	if err != nil || len(raw) != 32 {
		t.Fatalf("challenge %q is not 32 bytes of base64url", challenge)
	}
	secrets = append(append(secrets, forms([]byte(challenge))...), forms(raw)...)
	// A password typed into the name box: a name without an account,
	// whose failed login is counted, but not under the name.
	s.do("POST", "/login", "", map[string]string{"username": mistypedName, "password": "Wrong!pass1"}).want(t, 401, "a password as the name")
	secrets = append(secrets, forms([]byte(mistypedName))...)
	u, err := s.Store.UserByUsername(context.Background(), seedUser)
	if err != nil {
		t.Fatal(err)
	}
	// While the server runs, the database and its WAL are private files.
	live, _ := filepath.Glob(filepath.Join(dir, "strongroom.db*"))
	if len(live) < 2 {
		t.Fatalf("expected the database and its WAL, found %v", live)
	}
	for _, f := range live {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v (%v), want 0600", filepath.Base(f), fi.Mode().Perm(), err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	files, _ := filepath.Glob(filepath.Join(dir, "strongroom.db*"))
	if len(files) == 0 {
		t.Fatal("no database file")
	}
	for _, f := range files {
		content, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, sec := range secrets {
			if bytes.Contains(content, sec) {
				t.Errorf("%s holds a secret in clear (%d bytes)", filepath.Base(f), len(sec))
			}
		}
	}

	// The columns hold what the seed's schema says, in protected form.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "strongroom.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var hash, salt string
	var tfa bool
	if err := db.QueryRow("SELECT hashed_password, salt, two_factor_enabled FROM users WHERE username = ?", seedUser).Scan(&hash, &salt, &tfa); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$2a$04$") || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(salt) || !tfa {
		t.Fatalf("users row: hash %q salt %q 2fa %v", hash[:7], salt, tfa)
	}
	var enc string
	if err := db.QueryRow("SELECT encrypted_value FROM sensitive_data").Scan(&enc); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^01[0-9a-f]+$`).MatchString(enc) {
		t.Fatalf("encrypted_value %q is not versioned hex", enc)
	}
	var wrapped string
	var version int
	if err := db.QueryRow("SELECT wrapped_dek, kek_version FROM user_keys WHERE user_id = ?", u.ID).Scan(&wrapped, &version); err != nil {
		t.Fatal(err)
	}
	if version != 2 || !strings.HasPrefix(wrapped, "sr:v2:") {
		t.Fatalf("user_keys after rotation: v%d %q", version, wrapped[:6])
	}
	var codes int
	if err := db.QueryRow("SELECT COUNT(*) FROM otp_challenges").Scan(&codes); err != nil || codes != 0 {
		t.Fatalf("%d used challenges left (%v)", codes, err)
	}
}
