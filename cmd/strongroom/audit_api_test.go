package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/internal/testclock"
	"github.com/strongroom/strongroom/token"
)

// Attacks on GET /audit and /admin/audit over real sockets: another
// user's events through any parameter, the whole trail without being an
// administrator, and tokens that no longer hold.

// tagged sends requests as who: each carries X-Request-Id who-N, so the
// events they leave can be told apart by their request id.
func (s *testServer) tagged(who string) func(method, path, bearer string, body any) response {
	n := 0
	return func(method, path, bearer string, body any) response {
		n++
		return s.doHeaders(method, path, bearer, body, map[string]string{"X-Request-Id": fmt.Sprintf("%s-%d", who, n)})
	}
}

func TestAuditShowsOnlyYourOwnEvents(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, testAuditShowsOnlyYourOwnEvents)
}

func testAuditShowsOnlyYourOwnEvents(t *testing.T, cfg Config) {
	s := startServer(t, cfg)
	asAlice, asBob, asStranger := s.tagged("alice"), s.tagged("bob"), s.tagged("stranger")
	login := func(as func(string, string, string, any) response, user string) string {
		as("POST", "/register", "", map[string]string{"username": user, "email": user + "@example.com", "password": seedPassword}).want(t, 200, "register")
		return as("POST", "/login", "", map[string]string{"username": user, "password": seedPassword}).want(t, 200, "login").JSON["access_token"].(string)
	}
	tokA, tokB := login(asAlice, "alice"), login(asBob, "bob") // alice is the administrator
	for _, c := range []struct {
		as  func(string, string, string, any) response
		tok string
	}{{asAlice, tokA}, {asBob, tokB}} {
		id := c.as("POST", "/sensitive-data", c.tok, map[string]string{"data_type": "note", "value": "x"}).want(t, 200, "create").JSON["id"].(string)
		c.as("GET", "/sensitive-data/"+id, c.tok, nil).want(t, 200, "read")
		c.as("GET", "/sensitive-data", c.tok, nil).want(t, 200, "list")
	}
	// Someone guesses alice's password: an event of alice's account.
	asStranger("POST", "/login", "", map[string]string{"username": "alice", "password": "Wrong!pass1"}).want(t, 401, "a guess")
	aliceAll, _ := s.auditList("/audit", tokA)
	aliceID := ""
	if admin, _ := s.auditList("/admin/audit?type=register", tokA); len(admin) == 2 && admin[1].UserID != nil {
		aliceID = *admin[1].UserID
	}
	if len(aliceAll) != 6 || aliceAll[0].Type != "login.failure" || !strings.HasPrefix(aliceAll[0].RequestID, "stranger-") || aliceID == "" {
		t.Fatalf("alice's own events: %+v (id %q)", aliceAll, aliceID)
	}

	bobAll, _ := s.auditList("/audit", tokB)
	if len(bobAll) != 5 {
		t.Fatalf("bob's own events: %+v, want register, login, create and two reads", bobAll)
	}
	// No parameter reaches another user's events: unknown ones are
	// ignored, and the user is the token's.
	for _, query := range []string{"", "?user=" + aliceID, "?user_id=" + aliceID, "?type=login.failure", "?before=999999999",
		"?limit=1000", "?since=2000-01-01T00:00:00Z", "?user=" + aliceID + "&user=" + aliceID, "?limit=1&before=999999999"} {
		r := s.do("GET", "/audit"+query, tokB, nil)
		if r.Status != 200 {
			r.want(t, 422, "/audit"+query)
			continue
		}
		var events []apiEvent
		if err := json.Unmarshal([]byte(r.Raw), &events); err != nil || len(events) == 0 {
			t.Fatalf("/audit%s as bob: %v %s", query, err, r.Raw)
		}
		for _, e := range events {
			if !strings.HasPrefix(e.RequestID, "bob-") || strings.Contains(r.Raw, aliceID) {
				t.Fatalf("/audit%s shows bob an event that is not his: %+v", query, e)
			}
		}
		if !strings.Contains(query, "limit=1&") && fmt.Sprint(events) != fmt.Sprint(bobAll) {
			t.Fatalf("/audit%s as bob answered %d events, not his %d", query, len(events), len(bobAll))
		}
	}
	// Paging through bob's events never leaves them either.
	if paged, _ := s.auditList("/audit?limit=1", tokB); fmt.Sprint(paged) != fmt.Sprint(bobAll) {
		t.Fatalf("bob's events one page at a time: %+v", paged)
	}

	// The whole trail is the administrator's alone, whatever is asked.
	for _, query := range []string{"", "?user=" + aliceID, "?type=login.failure", "?limit=1000", "?user=bad"} {
		r := s.do("GET", "/admin/audit"+query, tokB, nil)
		if query == "?user=bad" && r.Status == 422 {
			continue // refused for its input, before the caller's role is looked at: still nothing shown
		}
		r.want(t, 403, "/admin/audit"+query+" as bob")
		if strings.Contains(r.Raw, `"outcome"`) || strings.Contains(r.Raw, aliceID) {
			t.Fatalf("the refusal shows events: %s", r.Raw)
		}
	}
	s.do("GET", "/admin/audit", tokA, nil).want(t, 200, "the administrator")
}

// Tokens that no longer hold (logged out, revoked by the owner after a
// theft, expired, forged, of a deleted account) and no token at all get
// 401 from both, the administrator's included.
func TestAuditNeedsALiveToken(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, testAuditNeedsALiveToken)
}

func testAuditNeedsALiveToken(t *testing.T, cfg Config) {
	clk := testclock.New(time.Now())
	s := startServerAt(t, cfg, clk.Now)
	s.register("alice", seedPassword)
	s.register("bob", seedPassword)
	tok := s.login("alice", seedPassword)
	refused := func(what, bearer string) {
		t.Helper()
		for _, path := range []string{"/audit", "/admin/audit"} {
			r := s.do("GET", path, bearer, nil).want(t, 401, what+" on "+path)
			if strings.Contains(r.Raw, `"outcome"`) {
				t.Fatalf("%s on %s shows events: %s", what, path, r.Raw)
			}
		}
	}
	for _, path := range []string{"/audit", "/admin/audit"} {
		s.do("GET", path, tok, nil).want(t, 200, "a live token on "+path)
	}
	refused("no token", "")

	out := s.login("alice", seedPassword)
	s.do("POST", "/logout", out, nil).want(t, 200, "logout")
	refused("a logged-out token", out)

	stolen := s.loginAs("alice", seedPassword, "thief")
	for _, x := range s.do("GET", "/sessions", tok, nil).want(t, 200, "sessions").List {
		if x := x.(map[string]any); x["user_agent"] == "thief" {
			s.do("DELETE", "/sessions/"+x["id"].(string), tok, nil).want(t, 200, "the owner ends the thief's session")
		}
	}
	refused("a stolen token its owner revoked", stolen)

	forger, err := token.NewIssuer([]byte("not-the-server-secret-0123456789abcdef"), time.Hour, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := s.Store.UserByUsername(context.Background(), "alice")
	forged, _, _ := forger.Issue(u.ID)
	refused("a token signed with another key", forged)
	refused("a token with its signature altered", tok[:len(tok)-2]+map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(tok, "AA")])

	gone := s.login("bob", seedPassword)
	s.do("DELETE", "/account", gone, map[string]string{"password": seedPassword}).want(t, 200, "bob deletes his account")
	refused("a deleted account's token", gone)

	clk.Add(61 * time.Minute)
	refused("an expired token", tok)
}

// Bad parameters are refused with 422 naming the parameter, never
// repeating it, and change nothing: not even an event is added.
func TestAuditBadParameters(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, testAuditBadParameters)
}

func testAuditBadParameters(t *testing.T, cfg Config) {
	s := startServer(t, cfg)
	s.register("alice", seedPassword)
	tok := s.login("alice", seedPassword)
	before, err := s.Store.AuditHead(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, param string }{
		{"/audit?limit=0", "limit"}, {"/audit?limit=1001", "limit"}, {"/audit?limit=ten", "limit"},
		{"/audit?before=12", "before"}, {"/audit?before=-5", "before"}, {"/audit?before=zz9", "before"},
		{"/audit?before=0123456789abcdef0123456789abcdeX", "before"},
		{"/audit?before=0123456789abcdef0123456789abcdef", "before"}, // the right form, but no server gave it out
		{"/admin/audit?limit=5000", "limit"}, {"/admin/audit?before=-1", "before"},
		{"/admin/audit?user=zz9-not-an-id", "user"}, {"/admin/audit?user=ABCDEF0123456789ABCDEF01", "user"},
		{"/admin/audit?type=login.nope", "type"}, {"/admin/audit?type=LOGIN.SUCCESS", "type"},
		{"/admin/audit?since=yesterday", "since"}, {"/admin/audit?since=2026-13-01T00:00:00Z", "since"},
		{"/audit?limit=", "limit"}, {"/audit?before=", "before"}, {"/admin/audit?since=", "since"},
		{"/admin/audit?user=", "user"}, {"/admin/audit?type=&limit=5", "type"},
		// the administrator's filters, which /audit does not apply
		{"/audit?type=login.failure", "type"}, {"/audit?user=0123456789abcdef01234567", "user"}, {"/audit?since=2026-01-01T00:00:00Z", "since"},
	} {
		r := s.do("GET", c.path, tok, nil).want(t, 422, c.path)
		detail := r.JSON["detail"].(string)
		value, _, _ := strings.Cut(c.path[strings.Index(c.path, "=")+1:], "&")
		if !strings.Contains(r.Raw, `"location":"query.`+c.param+`"`) || value != "" && strings.Contains(r.Raw, value) {
			t.Errorf("%s: %s (detail %q) should name query.%s and not repeat %q", c.path, r.Raw, detail, c.param, value)
		}
	}
	after, err := s.Store.AuditHead(context.Background())
	if err != nil || after.Seq != before.Seq {
		t.Fatalf("the refused requests moved the trail from %d to %d (%v)", before.Seq, after.Seq, err)
	}
	// The document states the same rules.
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name   string
				Schema map[string]any
			}
			Responses map[string]json.RawMessage
		}
	}
	if err := json.Unmarshal([]byte(s.do("GET", "/openapi.json", "", nil).Raw), &doc); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/audit", "/admin/audit"} {
		op := doc.Paths[path]["get"]
		params := map[string]map[string]any{}
		for _, p := range op.Parameters {
			params[p.Name] = p.Schema
		}
		b := params["before"]
		if l := params["limit"]; l["minimum"] != 1.0 || l["maximum"] != 1000.0 || l["default"] != 50.0 ||
			path == "/audit" && b["pattern"] != "^[0-9a-f]{32}$" || path == "/admin/audit" && b["minimum"] != 1.0 {
			t.Errorf("%s: limit %v, before %v", path, l, params["before"])
		}
		if _, ok := op.Responses["401"]; !ok {
			t.Errorf("%s does not declare 401", path)
		}
	}
	admin := doc.Paths["/admin/audit"]["get"]
	params := map[string]map[string]any{}
	for _, p := range admin.Parameters {
		params[p.Name] = p.Schema
	}
	if _, ok := admin.Responses["403"]; !ok || params["user"]["pattern"] != "^[0-9a-f]{24}$" || len(params["type"]["enum"].([]any)) != len(strongroom.AuditTypes()) ||
		params["since"]["format"] != "date-time" {
		t.Errorf("/admin/audit: 403 declared %v, parameters %v", ok, params)
	}
}

// A HEAD on a route that answers with values is refused: it would decrypt
// the values and record their reads without sending any, so a token could
// fill the audit trail without taking the download. The record reads are
// what the trail shows: none for the refused HEADs.
func TestHeadOnValuesIsRefused(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig(t, t.TempDir()))
	s.register("header", seedPassword)
	tok := s.login("header", seedPassword)
	id := s.do("POST", "/sensitive-data", tok, map[string]string{"data_type": "card_number", "value": "4111111111111111"}).
		want(t, 200, "create").JSON["id"].(string)
	for _, path := range []string{"/sensitive-data", "/sensitive-data/" + id, "/sensitive-data?limit=10"} {
		r := s.do("HEAD", path, tok, nil)
		if r.Status != 405 || !strings.Contains(r.Header.Get("Allow"), "GET") {
			t.Fatalf("HEAD %s: %d, Allow %q; want 405 allowing GET", path, r.Status, r.Header.Get("Allow"))
		}
	}
	// Then one GET. Reads are recorded after their answer, in order: once
	// the GET's read is in the trail, any read a HEAD recorded is too.
	s.do("GET", "/sensitive-data/"+id, tok, nil).want(t, 200, "read")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		reads := 0
		for _, e := range s.do("GET", "/audit", tok, nil).want(t, 200, "audit").List {
			if e.(map[string]any)["type"] == "record.read" {
				reads++
			}
		}
		if reads > 1 {
			t.Fatalf("%d reads recorded for one GET and three refused HEADs", reads)
		}
		if reads == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the GET's read is not in the trail after 10 s")
		}
	}
	if r := s.do("HEAD", "/healthz", "", nil); r.Status != 200 {
		t.Fatalf("HEAD /healthz: %d", r.Status)
	}
}

// GET /audit names events by opaque ids, not by the trail's seq, which
// counts everyone's events: with seqs, a user could count the events
// others caused between two of theirs (five wrong logins for a name that
// has an account make an unlock mail's event too, for one that has none
// nothing). The ids page like seqs did; a seq, or an id no server gave
// out, is refused.
func TestAuditIDsHideOthersEvents(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig(t, t.TempDir()))
	s.register("admin", seedPassword) // the first account
	s.register("mallory", seedPassword)
	s.register("victim", seedPassword)
	tok := s.login("mallory", seedPassword)
	first := s.do("GET", "/audit", tok, nil).want(t, 200, "mallory's events")
	for i := 0; i < 5; i++ {
		s.do("POST", "/login", "", map[string]string{"username": "victim", "password": "Wrong-Passw0rd!"})
	}
	s.login("mallory", seedPassword)
	second := s.do("GET", "/audit", tok, nil).want(t, 200, "mallory's events")
	for _, r := range []response{first, second} {
		if strings.Contains(r.Raw, `"seq"`) {
			t.Fatalf("GET /audit shows the trail's seq: %s", r.Raw)
		}
	}
	events, _ := s.auditList("/audit?limit=1", tok)
	if len(events) != 3 { // register, login, login
		t.Fatalf("mallory has %d events, want 3: %+v", len(events), events)
	}
	admin := s.login("admin", seedPassword)
	all, _ := s.auditList("/admin/audit", admin)
	for _, e := range events {
		for _, a := range all {
			if e.ID == fmt.Sprint(a.Seq) {
				t.Fatalf("event id %s is its seq", e.ID)
			}
		}
	}
	// Paging by id works; by seq, or by an id nobody was given, not.
	s.do("GET", "/audit?before="+events[0].ID, tok, nil).want(t, 200, "before an id")
	for _, before := range []string{fmt.Sprint(all[0].Seq), "0123456789abcdef0123456789abcdef", strings.Repeat("0", 32)} {
		s.do("GET", "/audit?before="+before, tok, nil).want(t, 422, "before="+before)
	}
}
