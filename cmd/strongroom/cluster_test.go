package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/strongroom/strongroom/audit"
	"github.com/strongroom/strongroom/internal/testclock"
	"github.com/strongroom/strongroom/vault"
)

// The cluster tests run three "strongroom serve" processes on one MongoDB
// database (the test's FerretDB), one Vault Transit key and one data dir
// (the same JWT key and pepper), as replicas behind a load balancer would,
// and play at once on all three what must happen once: a lockout's count,
// a one-time code, a rotation.

// cluster is n server processes sharing cfg's store, key manager and data
// dir, and the test's own Main on them (no listener: its store, key
// manager and service, to seed accounts and look at what the servers did).
type cluster struct {
	t       *testing.T
	servers []*testServer
	cmds    []*exec.Cmd
	local   *testServer
	rr      atomic.Uint64
}

// startCluster starts n servers on cfg (see serveChild for env). The data
// dir's secrets are made first, by the test's own Main, so the servers do
// not race to make them.
func startCluster(t *testing.T, n int, cfg Config, env ...string) *cluster {
	t.Helper()
	m := NewMain()
	m.Config, m.Log = cfg, discardLog()
	if err := m.open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	c := &cluster{t: t, local: &testServer{Main: m, t: t}}
	for range n {
		s, cmd := serveChild(t, cfg, env...)
		c.servers = append(c.servers, s)
		c.cmds = append(c.cmds, cmd)
	}
	return c
}

// next is the next server, round-robin.
func (c *cluster) next() *testServer {
	return c.servers[(c.rr.Add(1)-1)%uint64(len(c.servers))]
}

// stop ends every server with SIGTERM, as an operator would, and waits for
// them: what they do after an answer (mail, audit events) is done.
func (c *cluster) stop() {
	c.t.Helper()
	for _, cmd := range c.cmds {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			c.t.Fatal(err)
		}
	}
	for _, cmd := range c.cmds {
		if err := cmd.Wait(); err != nil {
			c.t.Fatalf("a server stopped with %v", err)
		}
	}
}

// events are the stored audit events of userID (all, if ""), oldest
// first.
func (c *cluster) events(userID string) []audit.JSONEvent {
	c.t.Helper()
	var buf bytes.Buffer
	if _, err := audit.Export(context.Background(), c.local.Store, &buf, audit.ExportFilter{UserID: userID}); err != nil {
		c.t.Fatal(err)
	}
	var out []audit.JSONEvent
	for dec := json.NewDecoder(&buf); dec.More(); {
		var e audit.JSONEvent
		if err := dec.Decode(&e); err != nil {
			c.t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// countEvents counts events by "type outcome".
func countEvents(events []audit.JSONEvent) map[string]int {
	n := map[string]int{}
	for _, e := range events {
		n[e.Type+" "+e.Outcome]++
	}
	return n
}

// userID is the id of the account named name.
func (c *cluster) userID(name string) string {
	c.t.Helper()
	u, err := c.local.Store.UserByUsername(context.Background(), name)
	if err != nil {
		c.t.Fatalf("account %s: %v", name, err)
	}
	return u.ID
}

// atOnce runs each f on its own goroutine, releases them all with one
// channel close, and waits for them.
func atOnce(fs ...func()) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, f := range fs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			f()
		}()
	}
	close(start)
	wg.Wait()
}

// statuses sorts answers' statuses, for comparing with a wanted list.
func statuses(got []int) []int {
	s := slices.Clone(got)
	slices.Sort(s)
	return s
}

// TestClusterLockoutIsOneCount: 50 wrong passwords for one account, at
// once, spread over three servers from 50 addresses (so no per-address
// limit acts): exactly 5 are checked (401) and 45 refused by the lockout
// (429), since the count is claimed in the store, not in a server; the
// owner is mailed one unlock code. A count kept per server would check up
// to 15.
func TestClusterLockoutIsOneCount(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3, withVault(t, storeConfig(t, "mongodb"), vault.ServicePolicy))
	c.next().register("target", seedPassword)
	id := c.userID("target")

	got := make([]int, 50)
	var guesses []func()
	for i := range got {
		s, cl := c.next(), clientFrom(fmt.Sprintf("127.0.20.%d", i+1))
		guesses = append(guesses, func() {
			got[i], _ = call(cl, "POST", s.URL+"/login", "", map[string]string{"username": "target", "password": fmt.Sprintf("Wrong!pass%d", i)})
		})
	}
	atOnce(guesses...)
	n := map[int]int{}
	for _, st := range got {
		n[st]++
	}
	if n[401] != 5 || n[429] != 45 {
		t.Fatalf("answers %v, want 5 checked guesses (401) and 45 refused by the lockout (429)", n)
	}
	if u, err := c.local.Store.UserByUsername(context.Background(), "target"); err != nil || u.FailedAttempts != 5 {
		t.Fatalf("failed_attempts = %d (%v), want 5", u.FailedAttempts, err)
	}
	c.stop()
	ev := countEvents(c.events(id))
	if ev["login.failure failure"] != 5 || ev["login.locked failure"] != 45 || ev["otp.sent success"] != 1 {
		t.Fatalf("audit events of the account: %v; want 5 login.failure, 45 login.locked and 1 otp.sent (the unlock code)", ev)
	}
	mails := c.servers[0].mails("target@example.com")
	if len(mails) != 1 || !strings.Contains(mails[0], "locked") {
		t.Fatalf("%d mails to the owner, want 1 unlock mail:\n%s", len(mails), strings.Join(mails, "\n---\n"))
	}
}

// TestClusterCodesWorkOnce sends one second factor to the three servers
// at the same moment, and each is accepted once: one 200, two 401.
//
// A login's second step is sent as a client would, the same challenge and
// code to all three: for a mailed login code, which lives in its login's
// challenge, that tests the code's single use. An app or recovery code on
// that path is guarded twice (the factor's own single use, then the
// challenge's), and an account has one pending login at a time, so the
// factor's own rule is tested alone by a change asked for with a token,
// which needs the password and a current factor and no challenge:
// starting an authenticator setup (POST /2fa/totp/setup). A code accepted
// twice there shows as a 409 (the second change refused as concurrent)
// instead of a 401.
func TestClusterCodesWorkOnce(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3, withVault(t, storeConfig(t, "mongodb"), vault.ServicePolicy))
	refusals := 0

	// once sends send(s) to every server s at once, and checks that one is
	// accepted (200) and the others refused (401).
	once := func(what string, send func(s *testServer) (int, map[string]any)) {
		t.Helper()
		got := make([]int, len(c.servers))
		bodies := make([]map[string]any, len(c.servers))
		var sends []func()
		for i, s := range c.servers {
			sends = append(sends, func() { got[i], bodies[i] = send(s) })
		}
		atOnce(sends...)
		if !slices.Equal(statuses(got), []int{200, 401, 401}) {
			var details []any
			for _, b := range bodies {
				details = append(details, b["detail"])
			}
			t.Fatalf("%s sent to three servers at once: statuses %v (details %q), want one 200 and two 401", what, got, details)
		}
		refusals += 2
	}
	verify := func(user, challenge, code string) func(s *testServer) (int, map[string]any) {
		return func(s *testServer) (int, map[string]any) {
			st, body := call(client, "POST", s.URL+"/verify-otp", "", map[string]string{"username": user, "otp": code, "challenge": challenge})
			if tok, _ := body["access_token"].(string); (st == 200) != (tok != "") {
				return -st, body // a 200 without a token, or a token in a refusal
			}
			return st, body
		}
	}

	// A mailed login code, on an account with email 2FA.
	c.next().register("mailer", seedPassword)
	tok := c.next().login("mailer", seedPassword)
	c.next().do("POST", "/send-otp", tok, map[string]string{"username": "mailer"}).want(t, 200, "enroll email")
	c.next().do("POST", "/verify-otp", tok, map[string]string{"username": "mailer", "otp": c.servers[0].lastCode("mailer@example.com")}).
		want(t, 200, "enroll email")
	challenge := c.next().startLogin("mailer")
	once("a mailed login code", verify("mailer", challenge, c.servers[0].lastCode("mailer@example.com")))

	// An app code and recovery codes.
	clk := testclock.New(time.Now())
	secret, codes, tok := enableApp(t, c.next(), clk, "apper")
	setup := func(code string) func(s *testServer) (int, map[string]any) {
		return func(s *testServer) (int, map[string]any) {
			return call(client, "POST", s.URL+"/2fa/totp/setup", tok, map[string]string{"password": seedPassword, "otp": code})
		}
	}
	// enableApp confirmed with the current step's code and moved clk a
	// step on: this code is of the next step, which the servers accept.
	once("an app code (a token's change)", setup(oathtool(t, secret, clk.Now())))
	once("a recovery code (a token's change)", setup(codes[0]))
	once("a recovery code (a login)", verify("apper", c.next().startLogin("apper"), codes[1]))

	// Every refusal is in the trail; the app's account has its setup's
	// confirmation and one accepted code of each try.
	all := countEvents(c.events(""))
	apper := countEvents(c.events(c.userID("apper")))
	if all["otp.failure failure"] != refusals || apper["otp.verified success"] != 4 {
		t.Fatalf("audit events: %v, of the app's account %v; want %d otp.failure, and 4 otp.verified for the app's account", all, apper, refusals)
	}
}
