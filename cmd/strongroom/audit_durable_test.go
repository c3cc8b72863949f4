package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// When the audit trail takes no events, nothing that should leave one
// goes ahead unaudited: a login gets 503 and no token (its session is
// ended at once), a wrong password 503 rather than a silent 401, a read
// 503 and no value, a list no value; a write is made but answered 503.
func TestUnauditedRequestsFail(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, testUnauditedRequestsFail)
}

func testUnauditedRequestsFail(t *testing.T, cfg Config) {
	s := startServer(t, cfg)
	s.register("alice", seedPassword)
	tok := s.login("alice", seedPassword)
	id := s.do("POST", "/sensitive-data", tok, map[string]string{"data_type": "card_number", "value": seedCard}).want(t, 200, "create").JSON["id"].(string)
	u, err := s.Store.UserByUsername(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	head, _ := s.Store.AuditHead(context.Background())

	if err := s.AuditTrail.Close(); err != nil { // as a trail whose store refuses appends
		t.Fatal(err)
	}
	unavailable := func(r response, what string) {
		t.Helper()
		r.want(t, 503, what)
		if r.Header.Get("Retry-After") == "" || strings.Contains(r.Raw, seedCard) || r.JSON["access_token"] != nil {
			t.Fatalf("%s: %v %s", what, r.Header, r.Raw)
		}
	}
	unavailable(s.do("POST", "/login", "", map[string]string{"username": "alice", "password": seedPassword}), "a login")
	unavailable(s.do("POST", "/login", "", map[string]string{"username": "alice", "password": "Wrong!pass1"}), "a wrong password")
	unavailable(s.do("POST", "/login", "", map[string]string{"username": "ghost", "password": "Wrong!pass1"}), "an unknown name")
	unavailable(s.do("GET", "/sensitive-data/"+id, tok, nil), "a read")
	unavailable(s.do("PUT", "/sensitive-data/"+id, tok, map[string]string{"data_type": "card_number", "value": seedCard2}), "an update")

	// A list has begun its answer when its first record's event is
	// refused: the connection is cut, and no value was sent.
	req, _ := http.NewRequest("GET", s.URL+"/sensitive-data", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if res, err := client.Do(req); err == nil {
		b, rerr := io.ReadAll(res.Body)
		res.Body.Close()
		if rerr == nil || strings.Contains(string(b), seedCard2) || strings.Contains(string(b), seedCard) {
			t.Fatalf("a list with the trail down: %d %q, %v", res.StatusCode, b, rerr)
		}
	}

	unavailable(s.do("POST", "/logout", tok, nil), "a logout")

	// The failed login left no live session behind: only the first one
	// (its logout's event was refused after the logout itself).
	live, err := s.Store.Sessions(context.Background(), u.ID, time.Now(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 0 {
		t.Fatalf("%d live sessions after a refused login and a logout, want none", len(live))
	}
	if after, _ := s.Store.AuditHead(context.Background()); after.Seq != head.Seq {
		t.Fatalf("the trail moved from %d to %d while closed", head.Seq, after.Seq)
	}
}

// Once an append of the trail has failed (here a full disk, played by a
// trigger that makes SQLite refuse the trail's inserts), record reads
// are no longer queued and forgotten: each waits for its own event, so
// no value is sent while its event cannot be stored, and reads come back
// by themselves when the store does. (The mechanism is the trail's, the
// same on both stores; a real refusal is easiest to make on SQLite.)
func TestReadsRefusedWhileTheTrailFails(t *testing.T) {
	t.Parallel()
	cfg := storeConfig(t, "sqlite")
	s := startServer(t, cfg)
	s.register("alice", seedPassword)
	tok := s.login("alice", seedPassword)
	id := s.do("POST", "/sensitive-data", tok, map[string]string{"data_type": "card_number", "value": seedCard}).want(t, 200, "create").JSON["id"].(string)
	s.do("GET", "/sensitive-data/"+id, tok, nil).want(t, 200, "a read")
	s.waitForAudit(4) // the read's event, appended within a few milliseconds

	raw := openRawAudit(t, cfg)
	raw.exec(t, "CREATE TRIGGER full_disk BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
	// The first event that waits for its append sees the failure.
	s.do("POST", "/login", "", map[string]string{"username": "alice", "password": "Wrong!pass1"}).want(t, 503, "a wrong password, unaudited")
	for i := range 5 {
		r := s.do("GET", "/sensitive-data/"+id, tok, nil)
		r.want(t, 503, fmt.Sprint("read ", i, " while the trail fails"))
		if strings.Contains(r.Raw, seedCard) {
			t.Fatalf("a read answered the value while its event could not be stored: %s", r.Raw)
		}
	}
	req, _ := http.NewRequest("GET", s.URL+"/sensitive-data", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if res, err := client.Do(req); err == nil {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if strings.Contains(string(b), seedCard) {
			t.Fatalf("a list answered the value while its event could not be stored: %d %q", res.StatusCode, b)
		}
	}

	raw.exec(t, "DROP TRIGGER full_disk")
	s.do("GET", "/sensitive-data/"+id, tok, nil).want(t, 200, "a read once the store takes events again")
	events, _ := s.auditList("/audit", tok)
	if len(events) != 5 || events[0].Type != "record.read" || events[0].Target != id || events[1].Type != "record.read" {
		t.Fatalf("the trail holds %+v, want the first read and the one that came back on top of the registration, the login and the create", events)
	}
}
