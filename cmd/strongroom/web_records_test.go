package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/strongroom/strongroom/web"
)

// The records page lists records without reading a value (no record.read
// in the audit trail); showing one reads it, once.
func TestWebShowIsTheOnlyRead(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	s.register("dave", seedPassword)
	tok := s.login("dave", seedPassword)
	id := s.do("POST", "/sensitive-data", tok, map[string]string{"data_type": "card_number", "value": "4111111111111111"}).
		want(t, 200, "create").JSON["id"].(string)
	reads := func() int { return s.recordReads(tok) }
	for range 3 {
		if st, body, _ := s.webGet("/app/records", tok); st != 200 || !strings.Contains(body, "card_number") || strings.Contains(body, "4111111111111111") {
			t.Fatalf("records page: %d %s", st, body)
		}
	}
	sameSite := map[string]string{"Sec-Fetch-Site": "same-origin"}
	st, body, _ := s.webForm("/app/records/"+id+"/show", tok, url.Values{"csrf": {web.FormToken(tok)}}, sameSite)
	if st != 200 || !strings.Contains(body, "4111111111111111") {
		t.Fatalf("show: %d %s", st, body)
	}
	// The trail takes asynchronous events within milliseconds: wait for
	// the show's, then count.
	for deadline := time.Now().Add(10 * time.Second); reads() == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
	}
	if n := reads(); n != 1 {
		t.Fatalf("%d record.read events after three lists and one show, want 1", n)
	}
}

// Editing a record in the web app replaces its value (as the JSON API
// then reads it) with the session's form token only; a forged post, an
// invalid value and another user's record id change nothing (403, 422,
// 404). The edit page shows the type from the listing and never the value:
// opening it is no record.read in the audit trail.
func TestWebEditRecord(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	s.register("kate", seedPassword)
	s.register("liam", seedPassword)
	tok, liam := s.login("kate", seedPassword), s.login("liam", seedPassword)
	const card, newCard = "4111111111111111", "4000000000000002"
	id := s.do("POST", "/sensitive-data", tok, map[string]string{"data_type": "card_number", "value": card}).
		want(t, 200, "create").JSON["id"].(string)
	apiReads := 0
	value := func() (string, string) { // the record's type and value, through the API
		apiReads++
		r := s.do("GET", "/sensitive-data/"+id, tok, nil).want(t, 200, "read")
		return r.JSON["data_type"].(string), r.JSON["value"].(string)
	}
	unchanged := func(what string) {
		t.Helper()
		if typ, v := value(); typ != "card_number" || v != card {
			t.Fatalf("%s changed the record: %s %s", what, typ, v)
		}
	}
	sameSite := map[string]string{"Sec-Fetch-Site": "same-origin"}
	edit := "/app/records/" + id + "/edit"

	if st, body, _ := s.webGet("/app/records", tok); st != 200 || !strings.Contains(body, `href="`+edit+`"`) {
		t.Fatalf("the records page has no edit link: %d %s", st, body)
	}
	for range 3 {
		st, body, _ := s.webGet(edit, tok)
		if st != 200 || !strings.Contains(body, `id="data_type" name="data_type" required value="card_number"`) ||
			!strings.Contains(body, `<input id="value" name="value" required autocomplete="off">`) || strings.Contains(body, card) {
			t.Fatalf("the edit page: %d %s", st, body)
		}
	}

	for _, c := range []struct {
		name    string
		tok     string
		path    string
		form    url.Values
		headers map[string]string
		status  int
	}{
		{"no form token", tok, edit, url.Values{"data_type": {"card_number"}, "value": {newCard}}, sameSite, http.StatusForbidden},
		{"another session's form token", tok, edit, url.Values{"csrf": {web.FormToken(liam)}, "data_type": {"card_number"}, "value": {newCard}}, sameSite, http.StatusForbidden},
		{"a cross-site post", tok, edit, url.Values{"csrf": {web.FormToken(tok)}, "data_type": {"card_number"}, "value": {newCard}}, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"an invalid card number", tok, edit, url.Values{"csrf": {web.FormToken(tok)}, "data_type": {"card_number"}, "value": {"4111"}}, sameSite, http.StatusUnprocessableEntity},
		{"an empty value", tok, edit, url.Values{"csrf": {web.FormToken(tok)}, "data_type": {"card_number"}, "value": {""}}, sameSite, http.StatusUnprocessableEntity},
		{"another user's record", liam, edit, url.Values{"csrf": {web.FormToken(liam)}, "data_type": {"card_number"}, "value": {newCard}}, sameSite, http.StatusNotFound},
		{"no such record", tok, "/app/records/" + strings.Repeat("0", 24) + "/edit", url.Values{"csrf": {web.FormToken(tok)}, "data_type": {"card_number"}, "value": {newCard}}, sameSite, http.StatusNotFound},
	} {
		st, body, _ := s.webForm(c.path, c.tok, c.form, c.headers)
		if st != c.status || !strings.Contains(body, `role="alert"`) {
			t.Fatalf("%s: %d %s, want %d with a message", c.name, st, body, c.status)
		}
		unchanged(c.name)
	}
	// The invalid value's page is the edit form again, saying why.
	st, body, _ := s.webForm(edit, tok, url.Values{"csrf": {web.FormToken(tok)}, "data_type": {"card_number"}, "value": {"4111"}}, sameSite)
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, "exactly 16 digits") || !strings.Contains(body, `action="`+edit+`"`) {
		t.Fatalf("an invalid card number: %d %s", st, body)
	}
	unchanged("an invalid card number")
	// Another user's record id has no edit page either, and says nothing of it.
	if st, body, _ := s.webGet(edit, liam); st != http.StatusNotFound || strings.Contains(body, `action="`+edit+`"`) {
		t.Fatalf("liam's edit page for kate's record: %d %s", st, body)
	}

	// The genuine form replaces the value, and the type with it.
	st, _, _ = s.webForm(edit, tok, url.Values{"csrf": {web.FormToken(tok)}, "data_type": {"card_number"}, "value": {newCard}}, sameSite)
	if st != http.StatusSeeOther {
		t.Fatalf("the genuine edit: %d", st)
	}
	if typ, v := value(); typ != "card_number" || v != newCard {
		t.Fatalf("after the edit: %s %s", typ, v)
	}
	if st, _, _ := s.webForm(edit, tok, url.Values{"csrf": {web.FormToken(tok)}, "data_type": {"note"}, "value": {"call the bank"}}, sameSite); st != http.StatusSeeOther {
		t.Fatalf("changing the type: %d", st)
	}
	if typ, v := value(); typ != "note" || v != "call the bank" {
		t.Fatalf("after changing the type: %s %s", typ, v)
	}

	// Every record.read is one of the API's reads above: none is the edit
	// page's. (The trail takes asynchronous events within milliseconds.)
	reads := func() int { return s.recordReads(tok) }
	for deadline := time.Now().Add(10 * time.Second); reads() < apiReads && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
	}
	if n := reads(); n != apiReads {
		t.Fatalf("%d record.read events, want the API's %d", n, apiReads)
	}
}

// recordReads counts the record.read events of tok's account, as GET
// /audit shows them.
func (s *testServer) recordReads(tok string) int {
	s.t.Helper()
	n := 0
	for _, e := range s.do("GET", "/audit", tok, nil).want(s.t, 200, "audit").List {
		if e.(map[string]any)["type"] == "record.read" {
			n++
		}
	}
	return n
}
