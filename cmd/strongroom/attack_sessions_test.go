package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/strongroom/strongroom/service"
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
func TestConcurrentPasswordChanges(t *testing.T) { forEachStore(t, testConcurrentPasswordChanges) }

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

// An account deletion killed after its first step (the data key
// destroyed) leaves nothing readable on any server: another server that
// had the key cached must not go on decrypting the records with it until
// some housekeeping round finishes the deletion a minute later.
func TestKilledDeletionLeavesNothingReadableElsewhere(t *testing.T) {
	forEachStore(t, testKilledDeletionLeavesNothingReadableElsewhere)
}

func testKilledDeletionLeavesNothingReadableElsewhere(t *testing.T, cfg Config) {
	a, cmd := serveChild(t, cfg, "STRONGROOM_TEST_FAILPOINT="+service.FailpointKeyDestroyed)
	b := startServer(t, cfg) // the same store and secrets
	// B's first housekeeping round runs a second after it starts; the next
	// is a minute later, as on any server that has been up a while.
	time.Sleep(1500 * time.Millisecond)
	a.register("alice", seedPassword)
	tok := a.login("alice", seedPassword)
	a.do("POST", "/sensitive-data", tok, map[string]string{"data_type": "card_number", "value": "1234567812345678"}).want(t, 200, "create")
	b.do("GET", "/sensitive-data", tok, nil).want(t, 200, "read on B: B caches the key")

	answered := make(chan int, 1)
	go func() {
		st, _ := call(client, "DELETE", a.URL+"/account", tok, map[string]string{"password": seedPassword})
		answered <- st
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(a.Logs.String(), "failpoint reached: "+service.FailpointKeyDestroyed) {
		if time.Now().After(deadline) {
			t.Fatal("the deletion never reached the failpoint")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	<-answered

	// Every server learns of a change within about a second (the sessions
	// poll); give B two.
	deadline = time.Now().Add(2 * time.Second)
	for {
		r := b.do("GET", "/sensitive-data", tok, nil)
		if r.Status != 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("2 s after the key was destroyed, B still decrypts the deleted account's records: %s", r.Raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r := b.do("GET", "/sensitive-data", tok, nil); r.Status == 200 || strings.Contains(r.Raw, "1234567812345678") {
		t.Fatalf("B answers %d %s", r.Status, r.Raw)
	}
}
