package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
)

// Every event type is emitted, by the request that causes it, with the
// account, the target and the outcome it should have: a lockout and an
// unlock (carol), a refused rotation, an authenticator app, recovery
// codes, a password change, sessions and a deletion (bob), records and a
// rotation from the API and from the command line (alice). Nothing secret
// is stored, the chain verifies, and an event made after the answer (the
// unlock code mailed) keeps the request's id.
func TestEveryAuditEventType(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, testEveryAuditEventType)
}

func testEveryAuditEventType(t *testing.T, cfg Config) {
	clk := newTOTPClock()
	s := startServerAt(t, cfg, clk.Now)
	id := func(name string) string {
		u, err := s.Store.UserByUsername(context.Background(), name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return u.ID
	}
	secrets := []string{seedPassword, seedCard, seedCard2}

	// alice, the administrator: records, and a rotation.
	s.register("alice", seedPassword)
	alice, tokA := id("alice"), s.login("alice", seedPassword)
	rec := s.do("POST", "/sensitive-data", tokA, map[string]string{"data_type": "card_number", "value": seedCard}).want(t, 200, "create")
	recID := rec.JSON["id"].(string)
	s.do("GET", "/sensitive-data/"+recID, tokA, nil).want(t, 200, "read")
	s.do("PUT", "/sensitive-data/"+recID, tokA, map[string]string{"data_type": "card_number", "value": seedCard2}).want(t, 200, "update")
	s.do("DELETE", "/sensitive-data/"+recID, tokA, nil).want(t, 200, "delete")
	s.do("POST", "/rotate-master-key", tokA, nil).want(t, 200, "rotate")
	matchEvents(t, "alice", s.eventsOf(tokA, alice), []wantEvent{
		{"register", "success", "user"}, {"login.success", "success", "sess:A"},
		{"record.create", "success", "rec:1"}, {"record.read", "success", "rec:1"}, {"record.update", "success", "rec:1"},
		{"record.delete", "success", "rec:1"}, {"key.rotate.start", "success", "v2"}, {"key.rotate.done", "success", "v2"},
	}, alice)

	// carol: five wrong passwords lock her account and mail her an
	// unlock code; a name without an account fails too.
	s.register("carol", seedPassword)
	carol := id("carol")
	wrong := map[string]string{"username": "carol", "password": "Wrong!pass1"}
	for i := range 5 {
		s.doHeaders("POST", "/login", "", wrong, map[string]string{"X-Request-Id": fmt.Sprint("lock-", i+1)}).want(t, 401, "wrong password")
	}
	s.Service.Wait() // the unlock code is mailed, and its event recorded, after the answer
	s.do("POST", "/login", "", map[string]string{"username": "carol", "password": seedPassword}).want(t, 429, "locked")
	s.do("POST", "/login", "", map[string]string{"username": "nobody-here", "password": "Wrong!pass1"}).want(t, 401, "unknown name")
	code := regexp.MustCompile(`\b([A-Z2-7]{5}-[A-Z2-7]{5})\b`).FindStringSubmatch(s.mails("carol@example.com")[0])[1]
	secrets = append(secrets, code, "Wrong!pass1")
	s.do("POST", "/unlock", "", map[string]string{"username": "carol", "code": "AAAAA-AAAAA"}).want(t, 401, "wrong unlock code")
	s.do("POST", "/unlock", "", map[string]string{"username": "carol", "code": code}).want(t, 200, "unlock")
	tokC := s.login("carol", seedPassword)
	carolWant := []wantEvent{{"register", "success", "user"}}
	for range 5 {
		carolWant = append(carolWant, wantEvent{"login.failure", "failure", "user"})
	}
	carolWant = append(carolWant, wantEvent{"otp.sent", "success", "unlock"}, wantEvent{"login.locked", "failure", "user"},
		wantEvent{"account.unlocked", "success", "user"}, wantEvent{"login.success", "success", "sess:C"})
	carolEvents := s.eventsOf(tokA, carol)
	matchEvents(t, "carol", carolEvents, carolWant, carol)
	if e := carolEvents[6]; e.RequestID != "lock-5" || e.Client != "127.0.0.1" {
		t.Fatalf("the unlock code mailed after the answer: request id %q, client %q; want the locking request's", e.RequestID, e.Client)
	}
	s.do("GET", "/audit", tokC, nil).want(t, 200, "carol's own view")

	// bob: not an administrator; an authenticator app, recovery codes, a
	// password change, sessions, and at last his account deleted.
	s.register("bob", seedPassword)
	bob, tokB := id("bob"), s.login("bob", seedPassword)
	s.do("POST", "/rotate-master-key", tokB, nil).want(t, 403, "bob may not rotate")
	s.do("GET", "/admin/audit", tokB, nil).want(t, 403, "bob may not read the whole trail")
	setup := s.do("POST", "/2fa/totp/setup", tokB, map[string]string{"password": seedPassword}).want(t, 200, "setup")
	secret, setupID := setup.JSON["secret"].(string), setup.JSON["setup_id"].(string)
	totp := func() string {
		clk.Add(30 * time.Second)
		c := oathtool(t, secret, clk.Now())
		secrets = append(secrets, c)
		return c
	}
	s.do("POST", "/2fa/totp/confirm", tokB, map[string]string{"otp": oathtool(t, secret, clk.Now().Add(-time.Hour)), "setup_id": setupID}).
		want(t, 401, "a wrong app code")
	r := s.do("POST", "/2fa/totp/confirm", tokB, map[string]string{"otp": totp(), "setup_id": setupID}).want(t, 200, "confirm")
	recovery := r.JSON["recovery_codes"].([]any)[0].(string)
	secrets = append(secrets, secret, setupID, recovery, tokA, tokB, tokC)
	s.verify("bob", s.startLogin("bob"), recovery).want(t, 200, "a login with a recovery code")
	s.do("POST", "/2fa/recovery-codes", tokB, map[string]string{"password": seedPassword, "otp": totp()}).want(t, 200, "new recovery codes")
	const newPassword = "N3w-Passw0rd!long"
	secrets = append(secrets, newPassword)
	s.do("POST", "/change-password", tokB, map[string]string{"current_password": seedPassword, "new_password": newPassword, "otp": totp()}).
		want(t, 200, "change password")
	challenge := s.do("POST", "/login", "", map[string]string{"username": "bob", "password": newPassword}).want(t, 200, "login").JSON["challenge"].(string)
	tokB2 := s.verify("bob", challenge, totp()).want(t, 200, "second step").JSON["access_token"].(string)
	secrets = append(secrets, challenge, tokB2)
	var other string
	for _, x := range s.do("GET", "/sessions", tokB, nil).want(t, 200, "sessions").List {
		if x := x.(map[string]any); x["current"] == false {
			other = x["id"].(string)
		}
	}
	s.do("DELETE", "/sessions/"+other, tokB, nil).want(t, 200, "revoke")
	s.do("POST", "/2fa/disable", tokB, map[string]string{"password": newPassword, "otp": totp()}).want(t, 200, "2FA off")
	s.do("POST", "/logout", tokB, nil).want(t, 200, "logout")
	tokB3 := s.login("bob", newPassword)
	secrets = append(secrets, tokB3)
	pkAuth := s.authenticator()
	opts := s.do("POST", "/passkeys/register/options", tokB3, map[string]string{"password": newPassword}).want(t, 200, "passkey options")
	cred, pk, err := pkAuth.Create([]byte(opts.Raw))
	if err != nil {
		t.Fatal(err)
	}
	pkID := s.do("POST", "/passkeys/register", tokB3, map[string]any{"credential": json.RawMessage(cred)}).want(t, 201, "add a passkey").JSON["id"].(string)
	tokB5 := s.passkeyLogin(pkAuth, pk).want(t, 200, "sign in with the passkey").JSON["access_token"].(string)
	secrets = append(secrets, tokB5, string(cred))
	s.do("DELETE", "/passkeys/"+pkID, tokB5, map[string]string{"password": newPassword}).want(t, 200, "remove the passkey (and end tokB3's session)")
	s.do("DELETE", "/account", tokB5, map[string]string{"password": newPassword}).want(t, 200, "delete the account")
	matchEvents(t, "bob", s.eventsOf(tokA, bob), []wantEvent{
		{"register", "success", "user"}, {"login.success", "success", "sess:B1"},
		{"key.rotate.start", "failure", ""}, // refused: not an administrator
		{"otp.failure", "failure", "totp"}, {"otp.verified", "success", "totp"}, {"2fa.enabled", "success", "totp"},
		{"2fa.recovery_codes", "success", "user"},
		{"login.success", "second_factor_required", ""}, {"otp.verified", "success", "recovery"}, {"login.success", "success", "sess:B2"},
		{"otp.verified", "success", "totp"}, {"2fa.recovery_codes", "success", "user"},
		{"otp.verified", "success", "totp"}, {"password.changed", "success", "user"},
		{"login.success", "second_factor_required", ""}, {"otp.verified", "success", "totp"}, {"login.success", "success", "sess:B3"},
		{"session.revoked", "success", "sess:B3"},
		{"otp.verified", "success", "totp"}, {"2fa.disabled", "success", "user"},
		{"session.logout", "success", "sess:B1"},
		{"login.success", "success", "sess:B4"}, {"passkey.added", "success", "pk:P1"}, {"login.success", "success", "sess:B5"},
		{"passkey.removed", "success", "pk:P1"}, {"account.deleted", "success", "user"},
	}, bob)

	// The operator's rotation names no user, client or request.
	if out, errOut, err := operatorCommand(t, cfg, "rotate-master-key"); err != nil {
		t.Fatalf("rotate-master-key: %v\n%s%s", err, out, errOut)
	}
	stored, text := storedTrail(t, s)
	last := fromStore(stored[len(stored)-2:])
	matchEvents(t, "the command line's rotation", last, []wantEvent{{"key.rotate.start", "success", "v3"}, {"key.rotate.done", "success", "v3"}}, "")
	for _, e := range last {
		if *e.UserID != "" || e.Client != "" || e.RequestID != "" {
			t.Fatalf("the command line's event %+v names a user, client or request", e)
		}
	}

	// Every type, and nothing secret; the chain verifies.
	var seen []string
	for _, e := range stored {
		seen = append(seen, e.Type)
		if e.Type == strongroom.AuditLoginFailure && e.UserID == "" && e.Target != "" {
			t.Fatalf("a login with an unknown name names %q", e.Target)
		}
	}
	for _, typ := range strongroom.AuditTypes() {
		if !slices.Contains(seen, typ) {
			t.Errorf("no %s event", typ)
		}
	}
	if found := leaks(text, append(secrets, "nobody-here", "AAAAA-AAAAA")); len(found) > 0 {
		t.Errorf("the stored trail holds secrets %v", found)
	}
	verifyTrail(t, s)
}

// eventsOf is the administrator's view of one user's events, oldest
// first.
func (s *testServer) eventsOf(adminToken, userID string) []apiEvent {
	s.t.Helper()
	s.Service.Wait() // events made after an answer
	events, _ := s.auditList("/admin/audit?limit=1000&user="+userID, adminToken)
	return reversed(events)
}

// operatorCommand runs a strongroom command against cfg's store and data
// dir, as an operator on the machine would while the server runs. Its
// bcrypt cost is the lowest the configuration takes (the command hashes a
// dummy password as it opens the service: at the default cost 12 that is
// seconds under -race, and many more while other tests run in parallel).
func operatorCommand(t *testing.T, cfg Config, args ...string) (string, string, error) {
	t.Helper()
	env := map[string]string{"STRONGROOM_DATA_DIR": cfg.DataDir, "MONGODB_URL": cfg.MongoDBURL.Reveal(), "DB_NAME": cfg.DBName,
		"STRONGROOM_BCRYPT_COST": "10"}
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok && v != "" }
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, lookup, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}
