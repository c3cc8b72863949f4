package main

import (
	"fmt"
	"testing"
	"time"
)

// TestClusterLimitsAreGlobal runs 3 servers on one MongoDB store and
// spreads one client's requests over them, round-robin: every per-address
// and per-token limit lets through what one server alone would, not three
// times as much. Each part comes from an address of its own, so the
// limits do not spend one another's budgets.
func TestClusterLimitsAreGlobal(t *testing.T) {
	t.Parallel()
	// 6 logins and registrations a minute per address: one every 10 s.
	servers := startCluster(t, 3, storeConfig(t, "mongodb"), "STRONGROOM_LOGIN_RATE=6").servers
	// spread sends n requests from src round-robin over the servers, and
	// returns how many were not refused by a limit (429), and how long
	// that took.
	spread := func(t *testing.T, src string, n int, send func(s *testServer, i int) response) (through int, took time.Duration) {
		t.Helper()
		start := time.Now()
		for i := 0; i < n; i++ {
			r := send(servers[i%len(servers)], i)
			if r.Status == 429 {
				if r.Header.Get("Retry-After") == "" {
					t.Fatalf("429 without Retry-After from %s", src)
				}
				continue
			}
			through++
		}
		return through, time.Since(start)
	}
	// within checks that what got through is the burst, plus what the
	// rate refilled while the requests were sent.
	within := func(t *testing.T, what string, through, burst int, took, every time.Duration) {
		t.Helper()
		if most := burst + int(took/every); through < burst || through > most {
			t.Fatalf("%s: %d got through in %v over 3 servers; one server allows %d to %d", what, through, took, burst, most)
		}
		t.Logf("%s: %d through in %v", what, through, took)
	}

	// Each per-address limit, from an address of its own: sent this many
	// times, this many get through on one server, one more every so long.
	for i, c := range []struct {
		what        string
		path        string
		sent, burst int
		every       time.Duration
		body        func(i int) map[string]string
	}{
		{"logins", "/login", 12, 6, 10 * time.Second, func(i int) map[string]string {
			return map[string]string{"username": fmt.Sprintf("nobody%d", i), "password": "Wrong-Passw0rd!"}
		}},
		{"code checks", "/verify-otp", 45, 30, 2 * time.Second, func(int) map[string]string {
			return map[string]string{"username": "nobody", "otp": "123456"}
		}},
		{"send-otp", "/send-otp", 18, 10, 6 * time.Second, func(int) map[string]string {
			return map[string]string{"username": "nobody"}
		}},
		{"unlock", "/unlock", 18, 10, 6 * time.Second, func(int) map[string]string {
			return map[string]string{"username": "nobody", "code": "ABCDE-FGHJK"}
		}},
	} {
		t.Run(c.what+" per address", func(t *testing.T) {
			src := fmt.Sprintf("127.0.0.%d", 21+i)
			client := clientFrom(src)
			n, took := spread(t, src, c.sent, func(s *testServer, i int) response {
				return s.doWith(client, "POST", c.path, "", c.body(i))
			})
			within(t, c.what, n, c.burst, took, c.every)
		})
	}
	t.Run("codes mailed per token", func(t *testing.T) {
		servers[0].register("mailer", seedPassword)
		tok := servers[1].login("mailer", seedPassword)
		// Each request from its own address: only the token's budget,
		// 3 at once then one every 6 minutes, is shared.
		n, took := spread(t, "127.0.0.3x", 9, func(s *testServer, i int) response {
			return s.doWith(clientFrom(fmt.Sprintf("127.0.0.%d", 30+i)), "POST", "/send-otp", tok, map[string]string{"username": "mailer"})
		})
		within(t, "codes mailed", n, 3, took, 6*time.Minute)
		if mails := len(servers[2].mails("mailer@example.com")); mails != 3 {
			t.Fatalf("%d codes mailed, want 3", mails)
		}
	})
}

// TestClusterListsHaveABudget: every value read is an event in the audit
// trail, so an account's reads and lists share a budget of values (twice
// the record quota at once, then the quota a minute), on all servers
// together. A token listing and reading in a loop over 3 servers gets
// its budget and then 429, whoever serves it; so does one writing.
func TestClusterListsHaveABudget(t *testing.T) {
	t.Parallel()
	// A quota of 5 records: lists of 10 values at once, then one value
	// every 12 s.
	servers := startCluster(t, 3, storeConfig(t, "mongodb"), "STRONGROOM_MAX_RECORDS_PER_USER=5").servers
	servers[0].register("lister", seedPassword)
	tok := servers[0].login("lister", seedPassword)
	var id string
	for i := 0; i < 5; i++ {
		id = servers[i%3].do("POST", "/sensitive-data", tok, map[string]string{"data_type": "card_number", "value": fmt.Sprintf("41111111111111%02d", i)}).
			want(t, 200, "create").JSON["id"].(string)
	}
	servers[0].do("GET", "/sensitive-data", tok, nil).want(t, 200, "a whole list of 5")
	servers[1].do("GET", "/sensitive-data?limit=3", tok, nil).want(t, 200, "a page of 3")
	servers[2].do("GET", "/sensitive-data/"+id, tok, nil).want(t, 200, "one record")
	servers[0].do("GET", "/sensitive-data?limit=1", tok, nil).want(t, 200, "a page of 1")
	for i, s := range servers {
		r := s.do("GET", "/sensitive-data?limit=1", tok, nil).want(t, 429, fmt.Sprintf("a page of 1 on server %d, the budget spent", i))
		if r.Header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
		s.do("GET", "/sensitive-data", tok, nil).want(t, 429, "a whole list, the budget spent")
		s.do("GET", "/sensitive-data/"+id, tok, nil).want(t, 429, "one record, the budget spent")
	}
	// Writes have a budget of their own, the same size: the 5 creates
	// and 5 updates fill it, then every server refuses the next write.
	for i := 0; i < 5; i++ {
		servers[i%3].do("PUT", "/sensitive-data/"+id, tok, map[string]string{"data_type": "card_number", "value": fmt.Sprintf("43333333333333%02d", i)}).
			want(t, 200, "an update within the budget of writes")
	}
	for i, s := range servers {
		s.do("PUT", "/sensitive-data/"+id, tok, map[string]string{"data_type": "card_number", "value": "4444444444444444"}).
			want(t, 429, fmt.Sprintf("an update on server %d, the budget of writes spent", i))
		s.do("DELETE", "/sensitive-data/"+id, tok, nil).want(t, 429, "a delete, the budget of writes spent")
	}
	// Another account's budgets are its own.
	servers[1].register("other", seedPassword)
	other := servers[1].login("other", seedPassword)
	servers[2].do("POST", "/sensitive-data", other, map[string]string{"data_type": "card_number", "value": "4000000000000002"}).want(t, 200, "create")
	servers[0].do("GET", "/sensitive-data", other, nil).want(t, 200, "another account's list")
}

// TestClusterReadsOnCredit plays one token reading one record as fast as
// it can, round robin over three servers, with a budget large enough for
// the per-server credit (a quota of 100: 200 values at once, each server
// 4 on credit a minute). Together the servers let through the budget and
// at most each one's credit more, never each its own budget: the store
// counts what the credits spent.
func TestClusterReadsOnCredit(t *testing.T) {
	t.Parallel()
	servers := startCluster(t, 3, storeConfig(t, "mongodb"), "STRONGROOM_MAX_RECORDS_PER_USER=100").servers
	servers[0].register("reader", seedPassword)
	tok := servers[0].login("reader", seedPassword)
	id := servers[1].do("POST", "/sensitive-data", tok, map[string]string{"data_type": "card_number", "value": "4111111111111111"}).
		want(t, 200, "create").JSON["id"].(string)
	allowed, refused := 0, 0
	start := time.Now()
	for i := 0; i < 600 && refused < 3; i++ {
		switch r := servers[i%3].do("GET", "/sensitive-data/"+id, tok, nil); r.Status {
		case 200:
			allowed++
		case 429:
			refused++
		default:
			t.Fatalf("read %d: %d %s", i, r.Status, r.Raw)
		}
	}
	// 200 at once, one more every 0.6 s while the reads go on (a loaded
	// machine reads slower, and the budget refills meanwhile), and 3 × 4
	// on credit at most.
	refill := int(time.Since(start)/(600*time.Millisecond)) + 1
	t.Logf("%d reads let through before 3 refusals, in %v (%d refilled)", allowed, time.Since(start).Round(time.Millisecond), refill)
	if allowed < 200 || allowed > 200+3*4+refill {
		t.Fatalf("three servers let through %d reads of a budget of 200 (credit 4 each, %d refilled)", allowed, refill)
	}
}
