package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// listIDs returns the ids of a list answer, in order.
func listIDs(t *testing.T, r response) []string {
	t.Helper()
	var ids []string
	for _, e := range r.List {
		rec, _ := e.(map[string]any)
		id, _ := rec["id"].(string)
		ids = append(ids, id)
	}
	return ids
}

// A user past the record or byte quota is refused with 409 and a detail
// naming the quota, and the refused write changes nothing.
func TestQuotaRefuses(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, func(t *testing.T, cfg Config) {
		cfg.MaxRecordsPerUser, cfg.MaxBytesPerUser = 3, 2048
		s := startServer(t, cfg)
		s.register("hoarder", seedPassword)
		tok := s.login("hoarder", seedPassword)
		for i := 0; i < 3; i++ {
			s.do("POST", "/sensitive-data", tok, map[string]string{"data_type": "card_number", "value": fmt.Sprintf("12345678123456%02d", i)}).
				want(t, 200, "create within the quota")
		}
		r := s.do("POST", "/sensitive-data", tok, map[string]string{"data_type": "card_number", "value": "9999888877776666"}).
			want(t, http.StatusConflict, "create past the record quota")
		if d := r.JSON["detail"]; d != "record quota reached: 3 records per user" {
			t.Fatalf("detail %q", d)
		}
		list := s.do("GET", "/sensitive-data", tok, nil).want(t, 200, "list")
		if len(list.List) != 3 || strings.Contains(list.Raw, "9999888877776666") {
			t.Fatalf("after a refused create: %s", list.Raw)
		}

		// Bytes: a card number is stored as 90 bytes; 1000 bytes of value
		// as 2058, past 2048.
		s.register("bulky", seedPassword)
		tok2 := s.login("bulky", seedPassword)
		card := s.do("POST", "/sensitive-data", tok2, map[string]string{"data_type": "card_number", "value": "1234567812345678"}).want(t, 200, "card")
		big := strings.Repeat("x", 1000)
		r = s.do("POST", "/sensitive-data", tok2, map[string]string{"data_type": "note", "value": big}).want(t, http.StatusConflict, "create past the byte quota")
		if d := r.JSON["detail"]; d != "byte quota reached: 2048 bytes of stored values per user" {
			t.Fatalf("detail %q", d)
		}
		id, _ := card.JSON["id"].(string)
		s.do("PUT", "/sensitive-data/"+id, tok2, map[string]string{"data_type": "note", "value": big}).want(t, http.StatusConflict, "update past the byte quota")
		s.do("GET", "/sensitive-data/"+id, tok2, nil).want(t, 200, "read").wantBody(t,
			`{"id":"`+id+`","data_type":"card_number","value":"1234567812345678"}`)
		s.do("PUT", "/sensitive-data/"+id, tok2, map[string]string{"data_type": "note", "value": strings.Repeat("y", 900)}).want(t, 200, "update within the quota")
		// A delete frees room.
		for _, rid := range listIDs(t, list)[:1] {
			s.do("DELETE", "/sensitive-data/"+rid, tok, nil).want(t, 200, "delete")
		}
		s.do("POST", "/sensitive-data", tok, map[string]string{"data_type": "card_number", "value": "9999888877776666"}).want(t, 200, "create after a delete")
	})
}

// GET /sensitive-data without parameters is the whole list, as before;
// with limit it is pages linked by Link and X-Next-After, in the same
// order; bad parameters are 422.
func TestListPages(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, func(t *testing.T, cfg Config) {
		s := startServer(t, cfg)
		s.register("pager", seedPassword)
		tok := s.login("pager", seedPassword)
		var want []string
		for i := 0; i < 7; i++ {
			r := s.do("POST", "/sensitive-data", tok, map[string]string{"data_type": "card_number", "value": fmt.Sprintf("11112222333344%02d", i)}).want(t, 200, "create")
			want = append(want, r.JSON["id"].(string))
		}
		all := s.do("GET", "/sensitive-data", tok, nil).want(t, 200, "whole list")
		if got := listIDs(t, all); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("whole list %v, want %v", got, want)
		}
		if !strings.HasPrefix(all.Raw, "[{") || all.Header.Get("Content-Type") != "application/json" || all.Header.Get("Link") != "" {
			t.Fatalf("whole list: %s %v", all.Raw, all.Header)
		}
		var got []string
		path, pages := "/sensitive-data?limit=3", 0
		for path != "" {
			r := s.do("GET", path, tok, nil).want(t, 200, "page")
			pages++
			ids := listIDs(t, r)
			got = append(got, ids...)
			path = ""
			if link := r.Header.Get("Link"); link != "" {
				next := r.Header.Get("X-Next-After")
				if next != ids[len(ids)-1] || link != "</sensitive-data?after="+next+"&limit=3>; rel=\"next\"" {
					t.Fatalf("page %d: Link %q, X-Next-After %q, last id %s", pages, link, next, ids[len(ids)-1])
				}
				path = strings.TrimSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
			}
		}
		if pages != 3 || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("%d pages gave %v, want 3 pages of %v", pages, got, want)
		}
		// A full last page has no next link.
		if r := s.do("GET", "/sensitive-data?limit=7", tok, nil).want(t, 200, "one page"); r.Header.Get("Link") != "" || len(r.List) != 7 {
			t.Fatalf("a page holding the rest: %d records, Link %q", len(r.List), r.Header.Get("Link"))
		}
		// after a deleted record: nothing after it is missed.
		s.do("DELETE", "/sensitive-data/"+want[2], tok, nil).want(t, 200, "delete")
		r := s.do("GET", "/sensitive-data?limit=10&after="+want[2], tok, nil).want(t, 200, "after a deleted record")
		if ids := strings.Join(listIDs(t, r), ","); !strings.HasSuffix(ids, strings.Join(want[3:], ",")) {
			t.Fatalf("after a deleted record: %s, want it to end with %v", ids, want[3:])
		}
		// Another user's id as after shows only the caller's records.
		s.register("other", seedPassword)
		tok2 := s.login("other", seedPassword)
		if r := s.do("GET", "/sensitive-data?after="+want[0], tok2, nil).want(t, 200, "another user's after"); len(r.List) != 0 {
			t.Fatalf("another user's list: %s", r.Raw)
		}
		for _, q := range []string{"limit=0", "limit=1001", "limit=x", "after=zz", "after=" + strings.ToUpper(want[0])} {
			r := s.do("GET", "/sensitive-data?"+q, tok, nil).want(t, 422, q)
			if strings.Contains(r.Raw, "1111222233334") {
				t.Fatalf("%s: an error shows a value: %s", q, r.Raw)
			}
		}
		s.do("GET", "/sensitive-data?limit=2", "", nil).want(t, 401, "no token")
	})
}
