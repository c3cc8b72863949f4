package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// Attacks on sessions and the account lifecycle, played over real
// sockets: what a stolen token, an old password, or one of several
// servers gets.

// call sends a JSON request with c and returns the status and the decoded
// answer; unlike do it may run on any goroutine (0: the request failed).
func call(c *http.Client, method, url, bearer string, body any) (int, map[string]any) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, nil
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, nil
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// A two-factor login whose password step read the account before a
// password change, and stored its challenge after the change had ended
// the pending logins, must not complete: the old password would buy a
// session that outlives the change.
func TestTwoFactorLoginRacingPasswordChange(t *testing.T) {
	// Not parallel: other tests' load starved its password change (4 hashing loops race it) past the client's 30 s timeout.
	forEachStore(t, testTwoFactorLoginRacingPasswordChange)
}

func testTwoFactorLoginRacingPasswordChange(t *testing.T, cfg Config) {
	cfg.BcryptCost = 8 // a password check of a few milliseconds: the race's window
	clk := newTOTPClock()
	s := startServerAt(t, cfg, clk.Now)
	secret, _, _ := enableApp(t, s, clk, "alice")
	pw := seedPassword
	raced := 0
	for round := range 4 {
		// A fresh session to change the password from (the clock moves 16
		// minutes a round).
		c := s.do("POST", "/login", "", map[string]string{"username": "alice", "password": pw}).want(t, 200, "login")
		r := s.verify("alice", c.JSON["challenge"].(string), oathtool(t, secret, clk.Now())).want(t, 200, "second step")
		tok := r.JSON["access_token"].(string)
		clk.Add(30 * time.Second)

		var (
			done       atomic.Bool
			mu         sync.Mutex
			challenges []string
			wg         sync.WaitGroup
		)
		for i := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cl := clientFrom(fmt.Sprintf("127.0.%d.%d", round+1, i+1))
				for !done.Load() {
					st, body := call(cl, "POST", s.URL+"/login", "", map[string]string{"username": "alice", "password": pw})
					if ch, _ := body["challenge"].(string); st == 200 && ch != "" {
						mu.Lock()
						challenges = append(challenges, ch)
						mu.Unlock()
					}
				}
			}()
		}
		time.Sleep(30 * time.Millisecond)
		next := fmt.Sprintf("N3w-Passw0rd!%d", round)
		s.do("POST", "/change-password", tok, map[string]string{"current_password": pw, "new_password": next, "otp": oathtool(t, secret, clk.Now())}).
			want(t, 200, "change password")
		clk.Add(30 * time.Second)
		time.Sleep(30 * time.Millisecond) // logins that read the account before the change finish
		done.Store(true)
		wg.Wait()
		if len(challenges) == 0 {
			t.Fatal("no login got its challenge: the race was not run")
		}
		raced += len(challenges)
		for i, ch := range challenges {
			cl := clientFrom(fmt.Sprintf("127.1.%d.%d", round+1, i%250+1))
			st, body := call(cl, "POST", s.URL+"/verify-otp", "", map[string]string{"username": "alice", "challenge": ch, "otp": oathtool(t, secret, clk.Now())})
			if st == 200 {
				t.Fatalf("round %d: a login that gave the old password completed after the password change, and its token works: %v (of %d raced logins)",
					round, s.works(body["access_token"].(string)), len(challenges))
			}
			if st != 401 {
				t.Fatalf("round %d: the second step of a raced login answered %d", round, st)
			}
		}
		pw = next
		clk.Add(16 * time.Minute) // the racers' failures locked the account: let the lock pass
	}
	t.Logf("%d two-factor logins raced the password changes; %d stored their challenge after a change and were refused", raced,
		strings.Count(s.Logs.String(), "login overtaken by an end of the account's sessions"))
}

// Two password changes at once, each from a session of the account and
// each with the password as it was: only one can win. The other proved a
// password that is no longer the account's, so it must not overwrite the
// winner's (the owner changing a phished password must not be undone by
// the thief's change in flight).
func TestConcurrentPasswordChanges(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, testConcurrentPasswordChanges)
}

func testConcurrentPasswordChanges(t *testing.T, cfg Config) {
	cfg.BcryptCost = 8
	s := startServer(t, cfg)
	s.register("alice", seedPassword)
	pw := seedPassword
	conflicts := 0
	for round := range 5 {
		owner, thief := s.login("alice", pw), s.login("alice", pw)
		news := []string{fmt.Sprintf("Owner-N3w-pass!%d", round), fmt.Sprintf("Thief-N3w-pass!%d", round)}
		var (
			status [2]int
			start  = make(chan struct{})
			wg     sync.WaitGroup
		)
		for i, tok := range []string{owner, thief} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cl := clientFrom(fmt.Sprintf("127.0.%d.%d", round+1, i+1))
				<-start
				status[i], _ = call(cl, "POST", s.URL+"/change-password", tok,
					map[string]string{"current_password": pw, "new_password": news[i]})
			}()
		}
		close(start)
		wg.Wait()
		won := -1
		for i, st := range status {
			switch st {
			case 200:
				if won >= 0 {
					ok := [2]bool{}
					for j := range news {
						st, _ := call(client, "POST", s.URL+"/login", "", map[string]string{"username": "alice", "password": news[j]})
						ok[j] = st == 200
					}
					t.Fatalf("round %d: both changes answered 200 though each gave the password the other replaced; "+
						"the owner's new password works: %v, the thief's: %v; the owner's session: %v, the thief's: %v",
						round, ok[0], ok[1], s.works(owner), s.works(thief))
				}
				won = i
			case 409:
				conflicts++
			default:
				t.Fatalf("round %d: a change answered %d", round, st)
			}
		}
		if won < 0 {
			t.Fatalf("round %d: neither change won", round)
		}
		pw = news[won]
		s.login("alice", pw) // the winner's password is the account's
		if !s.works([]string{owner, thief}[won]) || s.works([]string{owner, thief}[1-won]) {
			t.Fatalf("round %d: the winner's session must go on and the loser's end", round)
		}
	}
	if conflicts == 0 {
		t.Fatal("no change was overtaken by the other: the race was not run")
	}
	t.Logf("%d of 5 rounds had both changes check the same password", conflicts)
}

// What a stolen token alone gets against its account: no password change,
// no deletion, no recovery codes, 2FA stays on; nothing about other
// users' sessions; and the owner's password change ends it. Nothing of
// the kind reaches the log.
func TestStolenTokenAgainstTheAccount(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, testStolenTokenAgainstTheAccount)
}

func testStolenTokenAgainstTheAccount(t *testing.T, cfg Config) {
	clk := newTOTPClock()
	s := startServerAt(t, cfg, clk.Now)
	secret, codes, owner := enableApp(t, s, clk, "alice")
	s.register("mallory", seedPassword)
	mallory := s.login("mallory", seedPassword)
	thief := s.verify("alice", s.startLogin("alice"), codes[0]).want(t, 200, "the session the thief steals").JSON["access_token"].(string)
	const wrong = "Wrong-pass1!"
	next := "N3w-Passw0rd!long"

	// The token alone, or with a guessed password, or with the password
	// but no second factor: nothing changes.
	for _, c := range []struct {
		method, path string
		body         map[string]string
	}{
		{"POST", "/change-password", map[string]string{"current_password": wrong, "new_password": next}},
		{"POST", "/change-password", map[string]string{"current_password": seedPassword, "new_password": next}},
		{"POST", "/change-password", map[string]string{"current_password": seedPassword, "new_password": next, "otp": "000000"}},
		{"DELETE", "/account", map[string]string{}},
		{"DELETE", "/account", map[string]string{"password": seedPassword}},
		{"DELETE", "/account", map[string]string{"password": seedPassword, "otp": "AAAAA-AAAAA"}},
		{"POST", "/2fa/recovery-codes", map[string]string{"password": seedPassword}},
		{"POST", "/2fa/recovery-codes", map[string]string{"password": wrong, "otp": "123456"}},
		{"POST", "/2fa/disable", map[string]string{"password": seedPassword, "otp": "000000"}},
	} {
		if r := s.do(c.method, c.path, thief, c.body); r.Status == 200 || r.Status >= 500 {
			t.Fatalf("%s %s %v with a stolen token: %d %s", c.method, c.path, c.body, r.Status, r.Raw)
		}
	}
	u, err := s.Store.UserByUsername(t.Context(), "alice")
	if err != nil || !u.TwoFactorEnabled {
		t.Fatalf("after the thief's tries: %+v, %v", u, err)
	}
	clk.Add(30 * time.Second)
	s.verify("alice", s.startLogin("alice"), oathtool(t, secret, clk.Now())).want(t, 200, "the password and the app are unchanged")

	// Another user's session id answers exactly as an unknown one.
	var ownerIDs []string
	for _, e := range s.do("GET", "/sessions", owner, nil).want(t, 200, "sessions").List {
		ownerIDs = append(ownerIDs, e.(map[string]any)["id"].(string))
	}
	other := s.do("DELETE", "/sessions/"+ownerIDs[0], mallory, nil).want(t, 404, "another user's session")
	unknown := s.do("DELETE", "/sessions/"+strings.Repeat("ab", 16), mallory, nil).want(t, 404, "an unknown session")
	if other.Raw != unknown.Raw {
		t.Fatalf("another user's session and an unknown one answer differently:\n%s\n%s", other.Raw, unknown.Raw)
	}
	for _, id := range []string{strings.ToUpper(ownerIDs[0]), ownerIDs[0] + "0", "%00", "..%2f..%2faccount", strings.Repeat("f", 64)} {
		if r := s.do("DELETE", "/sessions/"+id, mallory, nil); r.Status != 404 && r.Status != 422 {
			t.Fatalf("DELETE /sessions/%s: %d %s", id, r.Status, r.Raw)
		}
	}
	if !s.works(owner) || !s.works(thief) {
		t.Fatal("a refused revocation ended a session")
	}

	// The owner changes the password: the thief's token is refused, and it
	// cannot change it back.
	clk.Add(30 * time.Second)
	s.do("POST", "/change-password", owner, map[string]string{"current_password": seedPassword, "new_password": next, "otp": oathtool(t, secret, clk.Now())}).
		want(t, 200, "the owner's change")
	if s.works(thief) {
		t.Fatal("the thief's token outlived the password change")
	}
	s.do("POST", "/change-password", thief, map[string]string{"current_password": seedPassword, "new_password": wrong, "otp": codes[2]}).
		want(t, 401, "the thief after the change")

	// The log holds no password, token, session id, code or secret.
	logs := s.Logs.String()
	secrets := append([]string{seedPassword, next, secret, owner, thief, mallory}, ownerIDs...)
	secrets = append(secrets, codes...)
	for _, sec := range secrets {
		if strings.Contains(logs, sec) {
			t.Fatalf("the log holds %q", sec)
		}
	}
}

// A User-Agent is shown back to its user: whatever bytes a client sends,
// the listing holds printable, valid UTF-8 of at most 200 bytes, with no
// control, format or bidirectional characters.
func TestUserAgentIsCleaned(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, testUserAgentIsCleaned)
}

func testUserAgentIsCleaned(t *testing.T, cfg Config) {
	s := startServer(t, cfg)
	s.register("alice", seedPassword)
	raw := func(ua string) int {
		body := `{"username":"alice","password":"` + seedPassword + `"}`
		c, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST /login HTTP/1.1\r\nHost: x\r\nUser-Agent: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
			ua, len(body), body)
		line, _ := bufio.NewReader(c).ReadString('\n')
		var code int
		fmt.Sscanf(line, "HTTP/1.1 %d", &code)
		return code
	}
	uas := []string{
		"a\xff\xfeb",                    // not UTF-8
		"c\u202ed\u2066e\u200bf\ufeffg", // bidi overrides and isolates, zero width, BOM
		"h\u0085i\u009b31mj\u2028k",     // C1 controls (NEL, CSI), line separator
		strings.Repeat("\u00e9", 150),   // 300 bytes of 2-byte runes: cut on a rune
		strings.Repeat("y", 6<<10),      // 6 KiB
		strings.Repeat("z", 200<<10),    // 200 KiB: past the server's header limit (431)
		"l\tm\x1bn",                     // C0 controls: refused by HTTP itself
	}
	for _, ua := range uas {
		if st := raw(ua); st != 200 && st != 400 && st != 431 {
			t.Fatalf("login with User-Agent %q...: %d", ua[:min(len(ua), 20)], st)
		}
	}
	r := s.do("GET", "/sessions", s.login("alice", seedPassword), nil).want(t, 200, "sessions")
	for _, e := range r.List {
		ua := e.(map[string]any)["user_agent"].(string)
		if !utf8.ValidString(ua) || len(ua) > 200 {
			t.Fatalf("user agent %q", ua)
		}
		for _, c := range ua {
			if !unicode.IsPrint(c) || unicode.Is(unicode.Bidi_Control, c) {
				t.Fatalf("user agent %q holds %U", ua, c)
			}
		}
	}
	if len(r.List) < 5 {
		t.Fatalf("%d sessions listed: %s", len(r.List), r.Raw)
	}
}

// One server whose clock runs ahead (past the 30 s the design allows) must
// not blind the others: an end it stamps in their future must not make
// them skip the ends the servers with right clocks stamp meanwhile.
func TestAServerAheadDoesNotBlindTheOthers(t *testing.T) {
	// Not parallel: it asserts B refuses the ended sessions within 2 s.
	forEachStore(t, testAServerAheadDoesNotBlindTheOthers)
}

func testAServerAheadDoesNotBlindTheOthers(t *testing.T, cfg Config) {
	ahead := startServerAt(t, cfg, func() time.Time { return time.Now().Add(10 * time.Minute) })
	b, c := startServer(t, cfg), startServer(t, cfg)
	b.register("alice", seedPassword)
	t1, t2 := b.login("alice", seedPassword), b.login("alice", seedPassword)
	ahead.do("POST", "/logout", t1, nil).want(t, 200, "logout on the server ahead")
	refusedWithin(t, b, t1, 2*time.Second) // B has seen that end
	c.do("POST", "/logout", t2, nil).want(t, 200, "logout on a server with the right time")
	t.Logf("B refused the second logout after %v", refusedWithin(t, b, t2, 2*time.Second))
}

// Servers' clocks may disagree by up to 30 s. One 25 s ahead must not
// purge a session its owner's servers still accept: a purged live
// session can no longer be ended, so a password change would leave its
// token working.
func TestPurgeLeavesSessionsOthersStillAccept(t *testing.T) {
	// Not parallel: it waits a fixed 1.5 s for the housekeeping round it is about.
	forEachStore(t, testPurgeLeavesSessionsOthersStillAccept)
}

func testPurgeLeavesSessionsOthersStillAccept(t *testing.T, cfg Config) {
	// A token issued 59 min 45 s ago (by a server then), 15 s from expiry.
	old := startServerAt(t, cfg, func() time.Time { return time.Now().Add(-59*time.Minute - 45*time.Second) })
	s := startServer(t, cfg)
	s.register("alice", seedPassword)
	stale, tok := old.login("alice", seedPassword), s.login("alice", seedPassword)
	if !s.works(stale) {
		t.Fatal("the old token does not work yet")
	}
	// A server 25 s ahead starts: its housekeeping runs a second later.
	startServerAt(t, cfg, func() time.Time { return time.Now().Add(25 * time.Second) })
	time.Sleep(1500 * time.Millisecond)
	s.do("POST", "/change-password", tok, map[string]string{"current_password": seedPassword, "new_password": "N3w-Passw0rd!long"}).
		want(t, 200, "change password")
	if s.works(stale) {
		t.Fatal("a session the server ahead purged while live outlived the password change")
	}
}

// Malformed bodies on the session and account endpoints are refused and
// change nothing, and no answer echoes a password.
func TestAccountEndpointsRefuseBadBodies(t *testing.T) {
	t.Parallel()
	s := startServer(t, storeConfig(t, "sqlite"))
	s.register("alice", seedPassword)
	tok := s.login("alice", seedPassword)
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/change-password", `{"current_password":"` + seedPassword + `","new_password":"N3w-Passw0rd!long","is_admin":true}`},
		{"POST", "/change-password", `{"current_password":["` + seedPassword + `"],"new_password":"N3w-Passw0rd!long"}`},
		{"POST", "/change-password", `{"current_password":"` + seedPassword + `","new_password":"` + strings.Repeat("A1!", 200) + `"}`},
		{"DELETE", "/account", `{"password":"` + seedPassword + `","force":true}`},
		{"DELETE", "/account", `{"password":{"$ne":null}}`},
		{"DELETE", "/account", `"` + seedPassword + `"`},
		{"DELETE", "/account", ``},
		{"POST", "/2fa/recovery-codes", `{"password":"` + seedPassword + `","otp":"123456","extra":1}`},
	} {
		var body any
		if c.body != "" {
			body = c.body
		}
		r := s.do(c.method, c.path, tok, body)
		if r.Status < 400 || r.Status >= 500 || strings.Contains(r.Raw, seedPassword) {
			t.Fatalf("%s %s %s: %d %s", c.method, c.path, c.body, r.Status, r.Raw)
		}
	}
	// A body on DELETE /sessions/{id} changes nothing about which session ends.
	other := s.login("alice", seedPassword)
	if r := s.do("DELETE", "/sessions/"+strings.Repeat("0", 32), tok, `{"id":"*"}`); r.Status != 404 && r.Status != 422 {
		t.Fatalf("DELETE /sessions with a body: %d %s", r.Status, r.Raw)
	}
	if !s.works(tok) || !s.works(other) {
		t.Fatal("a refused request ended a session")
	}
	s.login("alice", seedPassword) // the password is unchanged
}
