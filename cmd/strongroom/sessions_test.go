package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strongroom/strongroom/internal/testclock"
	"github.com/strongroom/strongroom/sqlite"
)

// Sessions: a token is a session in the store, and ending it (logout,
// revocation, a password change, 2FA off, deletion) makes the token
// worthless at once; the owner manages them from any of their sessions.

// loginAs logs user in with the User-Agent ua and returns the token.
func (s *testServer) loginAs(user, pw, ua string) string {
	s.t.Helper()
	r := s.doHeaders("POST", "/login", "", map[string]string{"username": user, "password": pw}, map[string]string{"User-Agent": ua}).
		want(s.t, 200, "login "+user)
	tok, _ := r.JSON["access_token"].(string)
	if tok == "" {
		s.t.Fatalf("login answered %s", r.Raw)
	}
	return tok
}

// works reports whether tok is accepted (it lists the records).
func (s *testServer) works(tok string) bool {
	s.t.Helper()
	r := s.do("GET", "/sensitive-data", tok, nil)
	switch r.Status {
	case 200:
		return true
	case 401:
		return false
	}
	s.t.Fatalf("GET /sensitive-data: %d %s", r.Status, r.Raw)
	return false
}

func TestLogoutEndsOnlyThatSession(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, testLogoutEndsOnlyThatSession)
}

func testLogoutEndsOnlyThatSession(t *testing.T, cfg Config) {
	s := startServer(t, cfg)
	s.register("alice", seedPassword)
	a, b := s.login("alice", seedPassword), s.login("alice", seedPassword)
	s.do("POST", "/logout", a, nil).want(t, 200, "logout").wantBody(t, `{"message":"Logged out"}`)
	if s.works(a) {
		t.Fatal("the logged-out token still works")
	}
	if !s.works(b) {
		t.Fatal("logging out token A ended token B too")
	}
	s.do("POST", "/logout", a, nil).want(t, 401, "logout twice")
	for _, path := range []string{"/sessions", "/sensitive-data"} {
		s.do("GET", path, a, nil).want(t, 401, "GET "+path+" after logout")
	}
	s.do("POST", "/sensitive-data", a, map[string]string{"data_type": "note", "value": "x"}).want(t, 401, "create after logout")
	r := s.do("GET", "/sessions", b, nil).want(t, 200, "sessions")
	if len(r.List) != 1 || r.List[0].(map[string]any)["current"] != true {
		t.Fatalf("sessions after logout: %s", r.Raw)
	}
	s.do("POST", "/logout", "", nil).want(t, 401, "logout without a token")
}

func TestSessionsListAndRevoke(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, testSessionsListAndRevoke)
}

func testSessionsListAndRevoke(t *testing.T, cfg Config) {
	clk := testclock.New(time.Now())
	s := startServerAt(t, cfg, clk.Now)
	s.register("alice", seedPassword)
	s.register("mallory", seedPassword)
	var toks []string
	// A User-Agent is shown back to its user: bidirectional overrides and
	// invisible characters are dropped, and it is cut at 200 bytes.
	long := "tablet/" + strings.Repeat("3", 300)
	for i, ua := range []string{"laptop/1.0", "phone/2.0\u202e\u200b", long} {
		toks = append(toks, s.loginAs("alice", seedPassword, ua))
		clk.Add(time.Duration(i+1) * time.Second)
	}
	mallory := s.login("mallory", seedPassword)

	r := s.do("GET", "/sessions", toks[1], nil).want(t, 200, "sessions")
	if len(r.List) != 3 {
		t.Fatalf("alice has %d sessions listed: %s", len(r.List), r.Raw)
	}
	var ids []string
	for i, want := range []string{long[:200], "phone/2.0", "laptop/1.0"} { // newest first
		e := r.List[i].(map[string]any)
		if e["user_agent"] != want || e["client"] != "127.0.0.1" || e["current"] != (i == 1) {
			t.Fatalf("session %d: %v; want user agent %q, client 127.0.0.1, current %v", i, e, want, i == 1)
		}
		created, err1 := time.Parse(time.RFC3339, e["created_at"].(string))
		expires, err2 := time.Parse(time.RFC3339, e["expires_at"].(string))
		if err1 != nil || err2 != nil || expires.Sub(created) != time.Hour {
			t.Fatalf("session %d times: %v", i, e)
		}
		ids = append(ids, e["id"].(string))
	}
	if len(ids[0]) != 32 {
		t.Fatalf("session id %q", ids[0])
	}
	// The laptop's session, ended from the phone: only the laptop's token stops.
	s.do("DELETE", "/sessions/"+ids[2], toks[1], nil).want(t, 200, "revoke").wantBody(t, `{"message":"Session revoked"}`)
	if s.works(toks[0]) || !s.works(toks[1]) || !s.works(toks[2]) {
		t.Fatal("revoking the laptop's session did not end exactly it")
	}
	s.do("DELETE", "/sessions/"+ids[2], toks[1], nil).want(t, 404, "revoke twice")
	// A stranger cannot end alice's sessions, nor learn whether an id is one.
	s.do("DELETE", "/sessions/"+ids[0], mallory, nil).want(t, 404, "revoke another user's session")
	s.do("DELETE", "/sessions/"+strings.Repeat("0", 32), mallory, nil).want(t, 404, "revoke an unknown session")
	s.do("DELETE", "/sessions/not-an-id", mallory, nil).want(t, 422, "revoke a malformed id")
	if !s.works(toks[2]) {
		t.Fatal("a stranger's revocation ended alice's session")
	}
	if r := s.do("GET", "/sessions", mallory, nil).want(t, 200, "mallory's sessions"); len(r.List) != 1 {
		t.Fatalf("mallory sees %s", r.Raw)
	}
	// Ending one's own session is a logout.
	s.do("DELETE", "/sessions/"+ids[0], toks[2], nil).want(t, 200, "revoke own")
	if s.works(toks[2]) {
		t.Fatal("the session that ended itself still works")
	}
	// Expired sessions are not listed.
	clk.Add(time.Hour)
	fresh := s.login("alice", seedPassword)
	if r := s.do("GET", "/sessions", fresh, nil).want(t, 200, "sessions"); len(r.List) != 1 {
		t.Fatalf("after an hour: %s", r.Raw)
	}
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, testChangePassword)
}

func testChangePassword(t *testing.T, cfg Config) {
	s := startServer(t, cfg)
	s.register("alice", seedPassword)
	a, b := s.login("alice", seedPassword), s.login("alice", seedPassword)
	const next = "N3w-Passw0rd!long"
	body := func(cur, nw string) map[string]string {
		return map[string]string{"current_password": cur, "new_password": nw}
	}
	s.do("POST", "/change-password", "", body(seedPassword, next)).want(t, 401, "no token")
	r := s.do("POST", "/change-password", a, body(seedPassword, "weak")).want(t, 422, "weak password")
	if !strings.Contains(r.Raw, "new_password") {
		t.Fatalf("the error does not name new_password: %s", r.Raw)
	}
	s.do("POST", "/change-password", a, body(seedPassword, seedPassword)).want(t, 422, "the same password")
	s.do("POST", "/change-password", a, body("Wrong-pass1!", next)).want(t, 401, "wrong current password")
	if !s.works(a) || !s.works(b) {
		t.Fatal("a refused change ended sessions")
	}
	s.login("alice", seedPassword) // unchanged; and resets the failure count

	s.do("POST", "/change-password", a, body(seedPassword, next)).want(t, 200, "change").wantBody(t, `{"message":"Password changed"}`)
	if !s.works(a) {
		t.Fatal("the session that changed the password was ended")
	}
	if s.works(b) {
		t.Fatal("another session survived the password change")
	}
	s.do("POST", "/login", "", map[string]string{"username": "alice", "password": seedPassword}).want(t, 401, "old password")
	s.login("alice", next)
	mails := s.mails("alice@example.com")
	last := mails[len(mails)-1]
	if !strings.Contains(last, "password was changed") || strings.Contains(last, next) || strings.Contains(last, seedPassword) {
		t.Fatalf("notice:\n%s", last)
	}
}

// Every endpoint that takes a password counts wrong ones in the login
// lockout: a stolen token is not a way to guess the password.
func TestPasswordEndpointsShareTheLockout(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, func(t *testing.T, cfg Config) {
		s := startServer(t, cfg)
		s.register("alice", seedPassword)
		tok := s.login("alice", seedPassword)
		wrong := "Wrong-pass1!"
		tries := []struct{ method, path string }{
			{"POST", "/change-password"}, {"DELETE", "/account"}, {"POST", "/2fa/recovery-codes"},
			{"POST", "/change-password"}, {"DELETE", "/account"},
		}
		for i, tr := range tries {
			body := map[string]string{"password": wrong, "current_password": wrong, "new_password": "N3w-Passw0rd!long", "otp": "123456"}
			if tr.path == "/change-password" {
				delete(body, "password")
				delete(body, "otp")
			} else {
				delete(body, "current_password")
				delete(body, "new_password")
			}
			s.do(tr.method, tr.path, tok, body).want(t, 401, fmt.Sprintf("wrong password %d at %s", i+1, tr.path))
		}
		s.do("POST", "/login", "", map[string]string{"username": "alice", "password": seedPassword}).want(t, 429, "login after 5 wrong passwords")
		s.do("DELETE", "/account", tok, map[string]string{"password": seedPassword}).want(t, 429, "deletion while locked")
		if !s.works(tok) {
			t.Fatal("the token stopped working")
		}
	})
}

func TestRecoveryCodesReplaced(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, testRecoveryCodesReplaced)
}

func testRecoveryCodesReplaced(t *testing.T, cfg Config) {
	clk := newTOTPClock()
	s := startServerAt(t, cfg, clk.Now)
	secret, old, tok := enableApp(t, s, clk, "alice")
	body := func(pw, otp string) map[string]string { return map[string]string{"password": pw, "otp": otp} }
	s.do("POST", "/2fa/recovery-codes", tok, map[string]string{"password": seedPassword}).want(t, 422, "no otp")
	s.do("POST", "/2fa/recovery-codes", tok, body("Wrong-pass1!", oathtool(t, secret, clk.Now()))).want(t, 401, "wrong password")
	s.do("POST", "/2fa/recovery-codes", tok, body(seedPassword, "000000")).want(t, 401, "wrong code")
	clk.Add(30 * time.Second)
	r := s.do("POST", "/2fa/recovery-codes", tok, body(seedPassword, oathtool(t, secret, clk.Now()))).want(t, 200, "new codes")
	var codes []string
	for _, c := range r.JSON["recovery_codes"].([]any) {
		codes = append(codes, c.(string))
	}
	if len(codes) != 10 || len(r.JSON) != 1 {
		t.Fatalf("answer %s", r.Raw)
	}
	s.verify("alice", s.startLogin("alice"), old[0]).want(t, 401, "an old recovery code")
	s.verify("alice", s.startLogin("alice"), codes[0]).want(t, 200, "a new recovery code")
	mails := s.mails("alice@example.com")
	if last := mails[len(mails)-1]; !strings.Contains(last, "New recovery codes were made") || strings.Contains(last, codes[1]) {
		t.Fatalf("notice:\n%s", last)
	}
	// Without two-factor authentication there are no codes to replace.
	s.register("bob", seedPassword)
	s.do("POST", "/2fa/recovery-codes", s.login("bob", seedPassword), body(seedPassword, "123456")).want(t, 409, "2FA off")
}

// Turning two-factor authentication off ends every other session: a
// holder of another token must show the password again.
func TestTwoFactorOffEndsOtherSessions(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, func(t *testing.T, cfg Config) {
		clk := newTOTPClock()
		s := startServerAt(t, cfg, clk.Now)
		secret, codes, tok := enableApp(t, s, clk, "alice")
		other := s.verify("alice", s.startLogin("alice"), codes[0]).want(t, 200, "second login")
		otherTok := other.JSON["access_token"].(string)
		s.do("POST", "/2fa/disable", tok, map[string]string{"password": seedPassword, "otp": oathtool(t, secret, clk.Now())}).want(t, 200, "disable")
		if !s.works(tok) || s.works(otherTok) {
			t.Fatal("2FA off: the caller's session must go on and the other end")
		}
	})
}

// storeHolds reports where the store keeps needle: in the SQLite files
// (database and write-ahead log, read as bytes) or in any document of any
// MongoDB collection.
func storeHolds(t *testing.T, cfg Config, needle string) []string {
	t.Helper()
	var where []string
	if cfg.MongoDBURL.IsSet() {
		for name, docs := range mongoDocuments(t, cfg) {
			for _, d := range docs {
				if bytes.Contains(d, []byte(needle)) {
					where = append(where, "collection "+name)
				}
			}
		}
		return where
	}
	for _, f := range []string{sqlite.FileName, sqlite.FileName + "-wal"} {
		b, err := os.ReadFile(filepath.Join(cfg.DataDir, f))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(needle)) {
			where = append(where, f)
		}
	}
	return where
}

func TestDeleteAccount(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, testDeleteAccount)
}

func testDeleteAccount(t *testing.T, cfg Config) {
	ctx := context.Background()
	s := startServer(t, cfg)
	s.register("alice", seedPassword)
	s.register("mallory", seedPassword)
	a, b := s.login("alice", seedPassword), s.login("alice", seedPassword)
	mallory := s.login("mallory", seedPassword)
	var ids []string
	for _, v := range []string{"1234567812345678", "8765432187654321", "1111222233334444"} {
		r := s.do("POST", "/sensitive-data", a, map[string]string{"data_type": "card_number", "value": v}).want(t, 200, "create")
		ids = append(ids, r.JSON["id"].(string))
	}
	u, err := s.Store.UserByUsername(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	wk, err := s.Store.UserKey(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(storeHolds(t, cfg, wk.Ciphertext)) == 0 {
		t.Fatal("the search does not find the wrapped key even before the deletion")
	}

	s.do("DELETE", "/account", a, map[string]string{"password": "Wrong-pass1!"}).want(t, 401, "wrong password")
	s.do("DELETE", "/account", a, nil).want(t, 400, "no body")
	s.do("DELETE", "/account", "", map[string]string{"password": seedPassword}).want(t, 401, "no token")
	if r := s.do("GET", "/sensitive-data", b, nil).want(t, 200, "list"); len(r.List) != 3 {
		t.Fatalf("a refused deletion changed the records: %s", r.Raw)
	}

	before := time.Now().Add(-time.Second)
	r := s.do("DELETE", "/account", a, map[string]string{"password": seedPassword}).want(t, 200, "delete")
	at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(r.JSON["key_destroyed_at"]))
	if r.JSON["message"] != "Account deleted" || r.JSON["records_deleted"] != float64(3) || err != nil || at.Before(before) || at.After(time.Now()) {
		t.Fatalf("deletion answered %s", r.Raw)
	}
	if s.works(a) || s.works(b) {
		t.Fatal("a session of the deleted account still works")
	}
	s.do("POST", "/login", "", map[string]string{"username": "alice", "password": seedPassword}).want(t, 401, "login to the deleted account")
	if where := storeHolds(t, cfg, wk.Ciphertext); len(where) != 0 {
		t.Fatalf("the wrapped key survives the deletion in %v", where)
	}
	if !s.works(mallory) {
		t.Fatal("another user's session ended")
	}

	// The name and address are free again, and nothing of the old account
	// is reachable from the new one.
	s.do("POST", "/register", "", map[string]string{"username": "alice", "email": "alice@example.com", "password": seedPassword}).
		want(t, 200, "register again")
	fresh := s.login("alice", seedPassword)
	if r := s.do("GET", "/sensitive-data", fresh, nil).want(t, 200, "list"); len(r.List) != 0 {
		t.Fatalf("the new account sees %s", r.Raw)
	}
	for _, id := range ids {
		s.do("GET", "/sensitive-data/"+id, fresh, nil).want(t, 404, "an old record")
	}
	if r := s.do("GET", "/sessions", fresh, nil).want(t, 200, "sessions"); len(r.List) != 1 {
		t.Fatalf("the new account sees sessions %s", r.Raw)
	}
	mails := s.mails("alice@example.com")
	var notice string
	for _, m := range mails {
		if strings.Contains(m, "account was deleted") {
			notice = m
		}
	}
	if notice == "" || !strings.Contains(notice, "3 records") || strings.Contains(notice, seedPassword) || strings.Contains(notice, "1234567812345678") {
		t.Fatalf("deletion notice:\n%s", notice)
	}
}

// With two-factor authentication on, deleting the account needs a current
// second factor as well: a stolen token and password are not enough.
func TestDeleteAccountNeedsTheSecondFactor(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, func(t *testing.T, cfg Config) {
		clk := newTOTPClock()
		s := startServerAt(t, cfg, clk.Now)
		secret, _, tok := enableApp(t, s, clk, "alice")
		s.do("DELETE", "/account", tok, map[string]string{"password": seedPassword}).want(t, 422, "no otp")
		s.do("DELETE", "/account", tok, map[string]string{"password": seedPassword, "otp": "000000"}).want(t, 401, "wrong otp")
		if !s.works(tok) {
			t.Fatal("a refused deletion ended the session")
		}
		r := s.do("DELETE", "/account", tok, map[string]string{"password": seedPassword, "otp": oathtool(t, secret, clk.Now())}).
			want(t, 200, "delete")
		if r.JSON["records_deleted"] != float64(0) {
			t.Fatalf("answer %s", r.Raw)
		}
	})
}

// When an account is deleted on one server, the others drop its data key
// from their caches as they see its sessions end.
func TestDeletionEvictsCachedKeysEverywhere(t *testing.T) {
	t.Parallel()
	cfg := storeConfig(t, "mongodb")
	a := startServer(t, cfg)
	b := startServer(t, cfg) // the same database, data dir and secrets
	a.register("alice", seedPassword)
	tok := a.login("alice", seedPassword)
	a.do("POST", "/sensitive-data", tok, map[string]string{"data_type": "note", "value": "x"}).want(t, 200, "create")
	b.do("GET", "/sensitive-data", tok, nil).want(t, 200, "read on B")
	if n := b.Service.Stats().KeysCached; n != 1 {
		t.Fatalf("B caches %d keys after alice's read, want 1", n)
	}
	a.do("DELETE", "/account", tok, map[string]string{"password": seedPassword}).want(t, 200, "delete on A")
	if n := a.Service.Stats().KeysCached; n != 0 {
		t.Fatalf("A still caches %d keys", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for b.Service.Stats().KeysCached != 0 {
		if time.Now().After(deadline) {
			t.Fatal("B still caches the deleted account's key")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
