package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/strongroom/strongroom/audit"
)

// Helpers of the audit tests: reading the trail through the API and
// from the store, and matching it against what a walk should leave.

// apiEvent is an event as GET /audit or /admin/audit answers it.
type apiEvent struct {
	ID        string  `json:"id"`  // GET /audit names events by an opaque id
	Seq       int64   `json:"seq"` // GET /admin/audit, by their seq
	Time      string  `json:"time"`
	Type      string  `json:"type"`
	Outcome   string  `json:"outcome"`
	UserID    *string `json:"user_id"` // only /admin/audit has it
	Target    string  `json:"target"`
	Client    string  `json:"client"`
	RequestID string  `json:"request_id"`
}

// auditList asks path (with its query) as bearer and follows every next
// page; it returns the events, newest first, and the raw answers.
func (s *testServer) auditList(path, bearer string) ([]apiEvent, string) {
	s.t.Helper()
	var all []apiEvent
	var raw strings.Builder
	for page := 0; path != ""; page++ {
		if page > 1000 {
			s.t.Fatalf("%s: more than 1000 pages", path)
		}
		r := s.do("GET", path, bearer, nil).want(s.t, 200, "GET "+path)
		raw.WriteString(r.Raw)
		var events []apiEvent
		if err := json.Unmarshal([]byte(r.Raw), &events); err != nil {
			s.t.Fatalf("GET %s: %v: %s", path, err, r.Raw)
		}
		if page > 0 && len(events) == 0 {
			s.t.Fatalf("GET %s: the page a Link announced is empty", path)
		}
		all = append(all, events...)
		path = ""
		if link := r.Header.Get("Link"); link != "" {
			m := regexp.MustCompile(`^<(/[^>]+)>; rel="next"$`).FindStringSubmatch(link)
			last := events[len(events)-1]
			next := fmt.Sprint(last.Seq)
			if last.ID != "" {
				next = last.ID
			}
			if m == nil || r.Header.Get("X-Next-Before") != next {
				s.t.Fatalf("GET %s: Link %q, X-Next-Before %q", path, link, r.Header.Get("X-Next-Before"))
			}
			path = m[1]
		}
	}
	return all, raw.String()
}

// storedTrail exports the whole stored trail, every field, oldest first,
// and returns it with its text.
func storedTrail(t *testing.T, s *testServer) ([]audit.JSONEvent, string) {
	t.Helper()
	var buf bytes.Buffer
	if _, err := audit.Export(context.Background(), s.Store, &buf, audit.ExportFilter{}); err != nil {
		t.Fatal(err)
	}
	var out []audit.JSONEvent
	dec := json.NewDecoder(bytes.NewReader(buf.Bytes()))
	for dec.More() {
		var e audit.JSONEvent
		if err := dec.Decode(&e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out, buf.String()
}

// verifyTrail checks the stored chain with the server's key.
func verifyTrail(t *testing.T, s *testServer) audit.Summary {
	t.Helper()
	sum, err := audit.Verify(context.Background(), s.Store, audit.DeriveKey(s.Config.Pepper.Bytes()), audit.VerifyOptions{})
	if err != nil {
		t.Fatalf("audit verify: %v", err)
	}
	return sum
}

// want is an expected event: its type, outcome and target. A target
// "rec:NAME" is a record id, "sess:NAME" a session id, "user" the user's
// id; events naming the same NAME must have the same id, different names
// different ids. Any other target is taken literally.
type wantEvent struct{ typ, outcome, target string }

// matchEvents checks got (oldest first) against want, in order, with
// userID the user's id.
func matchEvents(t *testing.T, what string, got []apiEvent, want []wantEvent, userID string) {
	t.Helper()
	var lines []string
	for _, e := range got {
		lines = append(lines, fmt.Sprintf("%s/%s/%s", e.Type, e.Outcome, e.Target))
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d events, want %d:\n%s", what, len(got), len(want), strings.Join(lines, "\n"))
	}
	bound, ids := map[string]string{}, map[string]string{}
	for i, w := range want {
		e := got[i]
		if e.Type != w.typ || e.Outcome != w.outcome {
			t.Fatalf("%s: event %d is %s/%s, want %s/%s:\n%s", what, i, e.Type, e.Outcome, w.typ, w.outcome, strings.Join(lines, "\n"))
		}
		kind, name, symbolic := strings.Cut(w.target, ":")
		switch {
		case w.target == "user":
			if e.Target != userID {
				t.Fatalf("%s: event %d (%s) targets %q, want the user %q", what, i, e.Type, e.Target, userID)
			}
		case symbolic && (kind == "rec" || kind == "sess" || kind == "pk"):
			pattern := map[string]string{"rec": `^[0-9a-f]{24}$`, "sess": `^[0-9a-f]{32}$`, "pk": `^[0-9a-f]{24}$`}[kind]
			if !regexp.MustCompile(pattern).MatchString(e.Target) {
				t.Fatalf("%s: event %d (%s) targets %q, not a %s id", what, i, e.Type, e.Target, kind)
			}
			if prev, ok := bound[w.target]; ok && prev != e.Target {
				t.Fatalf("%s: event %d (%s) targets %q, want %s = %q", what, i, e.Type, e.Target, name, prev)
			}
			if other, ok := ids[e.Target]; ok && other != w.target {
				t.Fatalf("%s: event %d (%s): %s and %s are the same id", what, i, e.Type, other, w.target)
			}
			bound[w.target], ids[e.Target] = e.Target, w.target
		default:
			if e.Target != w.target {
				t.Fatalf("%s: event %d (%s) targets %q, want %q", what, i, e.Type, e.Target, w.target)
			}
		}
	}
}

// reversed returns events in the other order (the API answers newest
// first).
func reversed(events []apiEvent) []apiEvent {
	out := make([]apiEvent, len(events))
	for i, e := range events {
		out[len(events)-1-i] = e
	}
	return out
}

// fromStore turns stored events into the API's shape, for matchEvents.
func fromStore(events []audit.JSONEvent) []apiEvent {
	out := make([]apiEvent, len(events))
	for i, e := range events {
		uid := e.UserID
		out[i] = apiEvent{Seq: e.Seq, Time: e.Time, Type: e.Type, Outcome: e.Outcome, UserID: &uid, Target: e.Target,
			Client: e.Client, RequestID: e.RequestID}
	}
	return out
}

// leaks returns the secrets that text holds: a 6-digit code only where it
// stands alone, a token also by its signature alone.
func leaks(text string, secrets []string) []string {
	var found []string
	for _, sec := range secrets {
		leaked := strings.Contains(text, sec)
		if len(sec) == 6 {
			leaked = regexp.MustCompile(`(^|[^0-9A-Za-z])` + sec + `([^0-9A-Za-z]|$)`).MatchString(text)
		}
		if parts := strings.Split(sec, "."); len(parts) == 3 && strings.Contains(text, parts[2]) {
			leaked = true
		}
		if leaked {
			found = append(found, sec[:min(8, len(sec))]+"...")
		}
	}
	return found
}

// waitForAudit waits until the trail's head has reached seq: for the
// events of record reads, which are appended without being waited for.
func (s *testServer) waitForAudit(seq int64) {
	s.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		h, err := s.Store.AuditHead(context.Background())
		if err == nil && h.Seq >= seq {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the trail's head is %d after 10 s (%v), want %d", h.Seq, err, seq)
		}
	}
}
