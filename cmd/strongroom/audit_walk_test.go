package main

import (
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"
)

// The seed's walk-through leaves exactly the expected events, in order,
// in the user's GET /audit and in the administrator's GET /admin/audit;
// no password, code, value or token is in any of them or in the stored
// trail; and the chain verifies afterwards.
func TestAuditTrailOfTheWalkthrough(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, testAuditTrailOfTheWalkthrough)
}

func testAuditTrailOfTheWalkthrough(t *testing.T, cfg Config) {
	s := startServer(t, cfg)
	secrets := walkthrough(t, s)
	tok, tok3 := secrets[7], secrets[9]
	firstCode, loginCode := secrets[5], secrets[6]
	s.doHeaders("POST", "/logout", tok3, nil, map[string]string{"X-Request-Id": "walk-logout-1"}).want(t, 200, "logout")
	u, err := s.Store.UserByUsername(t.Context(), seedUser)
	if err != nil {
		t.Fatal(err)
	}

	want := []wantEvent{
		{"register", "success", "user"},
		{"login.success", "success", "sess:A"},
		{"record.create", "success", "rec:1"},
		{"record.create", "success", "rec:2"},
		{"record.read", "success", "rec:1"}, // the list: one event per record returned
		{"record.read", "success", "rec:2"},
		{"record.read", "success", "rec:1"}, // GET one
		{"record.update", "success", "rec:1"},
		{"record.read", "success", "rec:1"},
		{"record.delete", "success", "rec:1"}, // the read that answered 404 returned nothing
		{"key.rotate.start", "success", "v2"},
		{"key.rotate.done", "success", "v2"},
		{"record.read", "success", "rec:2"},
		{"otp.sent", "success", "email"}, // enrollment
		{"otp.verified", "success", "email"},
		{"2fa.enabled", "success", "email"},
		{"login.success", "success", "sess:B"}, // verify-otp answers a fresh token
		{"login.success", "second_factor_required", ""},
		{"otp.sent", "success", "email"},
		{"otp.sent", "success", "email"}, // sent again
	}
	if firstCode != loginCode {
		want = append(want, wantEvent{"otp.failure", "failure", "email"}) // the replaced code
	}
	want = append(want,
		wantEvent{"otp.verified", "success", "email"},
		wantEvent{"login.success", "success", "sess:C"},
		wantEvent{"record.read", "success", "rec:2"},
		wantEvent{"session.logout", "success", "sess:C"})

	// The user's own view, newest first, a few at a time.
	mine, mineRaw := s.auditList("/audit?limit=3", tok)
	matchEvents(t, "GET /audit", reversed(mine), want, u.ID)
	if whole, _ := s.auditList("/audit", tok); fmt.Sprint(whole) != fmt.Sprint(mine) {
		t.Fatalf("GET /audit in one page differs from the pages of 3")
	}
	timeRE := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	for _, e := range mine {
		if e.UserID != nil {
			t.Fatalf("GET /audit shows user_id")
		}
		if e.Client != "127.0.0.1" || e.RequestID == "" || !timeRE.MatchString(e.Time) {
			t.Fatalf("event %+v: want the client, a request id and the time", e)
		}
		if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(e.ID) || e.Seq != 0 {
			t.Fatalf("GET /audit names an event %q (seq %d); want an opaque id and no seq", e.ID, e.Seq)
		}
	}
	if mine[0].Type != "session.logout" || mine[0].RequestID != "walk-logout-1" {
		t.Fatalf("the logout's event carries request id %q, want the request's", mine[0].RequestID)
	}

	// The administrator's view (the seed's user is the administrator):
	// the same, and the replayed code, which named no account.
	all, allRaw := s.auditList("/admin/audit?limit=7", tok)
	replay := wantEvent{"otp.failure", "failure", "email_or_totp"}
	wantAll := append(slices.Clone(want[:len(want)-1]), replay, want[len(want)-1])
	matchEvents(t, "GET /admin/audit", reversed(all), wantAll, u.ID)
	for i, e := range reversed(all) {
		uid := u.ID
		if i == len(wantAll)-2 {
			uid = "" // the replay
		}
		if e.UserID == nil || *e.UserID != uid {
			t.Fatalf("admin event %d (%s): user_id %v, want %q", i, e.Type, e.UserID, uid)
		}
	}
	byUser, _ := s.auditList("/admin/audit?user="+u.ID, tok)
	matchEvents(t, "GET /admin/audit?user=", reversed(byUser), want, u.ID)
	reads, _ := s.auditList("/admin/audit?type=record.read&limit=2", tok)
	if len(reads) != 6 {
		t.Fatalf("%d record.read events, want 6", len(reads))
	}
	since := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if later, _ := s.auditList("/admin/audit?since="+since, tok); len(later) != 0 {
		t.Fatalf("%d events from an hour from now", len(later))
	}

	// Nothing secret anywhere: not in the answers, not in the store.
	stored, storedRaw := storedTrail(t, s)
	for where, text := range map[string]string{"GET /audit": mineRaw, "GET /admin/audit": allRaw, "the stored trail": storedRaw} {
		if found := leaks(text, secrets); len(found) > 0 {
			t.Errorf("%s holds secrets %v", where, found)
		}
	}
	matchEvents(t, "the stored trail", fromStore(stored), wantAll, u.ID)
	if sum := verifyTrail(t, s); sum.Events != int64(len(stored)) || sum.Head.Seq != stored[len(stored)-1].Seq {
		t.Fatalf("verify walked %d events to head %d; %d stored", sum.Events, sum.Head.Seq, len(stored))
	}
}
