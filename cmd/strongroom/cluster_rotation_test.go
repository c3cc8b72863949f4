package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strongroom/strongroom/service"
	"github.com/strongroom/strongroom/vault"
)

// The cluster tests of rotations (the harness is in cluster_test.go): two
// administrators asking two servers at once, and a rotation on one server
// while the others serve reads and registrations.

// versions are the Vault key's newest and oldest kept version.
func (c *cluster) versions() (newest, oldest int) {
	c.t.Helper()
	newest, oldest, err := c.local.Keys.Versions(context.Background())
	if err != nil {
		c.t.Fatal(err)
	}
	return newest, oldest
}

// seededUser is an account made through the test's own service, with one
// record, and a token the servers accept.
type seededUser struct{ name, id, token, recordID, value string }

// seed makes n accounts named prefix000... with one record each, two at
// a time, through the test's own service (bcrypt cost 4: no server spends
// its hashing pool on them).
func (c *cluster) seed(prefix string, n int) []seededUser {
	c.t.Helper()
	ctx := context.Background()
	svc := c.local.Service
	users := make([]seededUser, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	work := make(chan int)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				u := seededUser{name: fmt.Sprintf("%s%03d", prefix, i), value: fmt.Sprintf("4%015d", i)}
				if err := svc.Register(ctx, "", u.name, u.name+"@example.com", seedPassword); err != nil {
					errs <- err
					continue
				}
				res, err := svc.Login(ctx, "", u.name, seedPassword)
				if err != nil {
					errs <- err
					continue
				}
				rec, err := c.local.Store.UserByUsername(ctx, u.name)
				if err != nil {
					errs <- err
					continue
				}
				u.id, u.token = rec.ID, res.Token
				r, err := svc.CreateRecord(ctx, &service.Principal{UserID: u.id}, "card_number", u.value)
				if err != nil {
					errs <- err
					continue
				}
				u.recordID = r.ID
				users[i] = u
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		c.t.Fatalf("seeding %s accounts: %v", prefix, err)
	}
	return users
}

// TestClusterOneRotationAtATime: two administrators ask two servers for a
// rotation at the same moment. Exactly one rotation happens: one answer
// 200, the other 409 (README: "409 while another rotation runs"), the
// Vault key goes up by one version, and the trail holds one started
// rotation and one refused.
func TestClusterOneRotationAtATime(t *testing.T) {
	t.Parallel()
	cfg := withVault(t, storeConfig(t, "mongodb"), vault.ServicePolicy, vault.OperatorPolicy)
	// 60 data keys, 10 a batch, 100 ms apart: the rotation takes more than
	// half a second, so the second request finds it running.
	c := startCluster(t, 3, cfg, "STRONGROOM_TEST_MAIN=serve -batch-size 10 -pause 100ms")
	if err := c.local.Service.Register(context.Background(), "", "boss", "boss@example.com", seedPassword); err != nil {
		t.Fatal(err) // the first account of an empty store: an administrator
	}
	c.seed("user", 59)
	if out, err := adminCommand(t, cfg, "grant", "user000"); err != nil {
		t.Fatalf("admin grant: %v, %s", err, out)
	}
	admins := []string{c.servers[0].login("boss", seedPassword), c.servers[1].login("user000", seedPassword)}
	before, _ := c.versions()

	got := make([]int, 2)
	bodies := make([]map[string]any, 2)
	atOnce(
		func() {
			got[0], bodies[0] = call(client, "POST", c.servers[0].URL+"/rotate-master-key", admins[0], nil)
		},
		func() {
			got[1], bodies[1] = call(client, "POST", c.servers[1].URL+"/rotate-master-key", admins[1], nil)
		},
	)
	if !slices.Equal(statuses(got), []int{200, 409}) {
		t.Fatalf("two rotations at once answered %v (%v), want one 200 and one 409", got, bodies)
	}
	for i, st := range got {
		if d, _ := bodies[i]["detail"].(string); st == 409 && !strings.Contains(d, "already running") {
			t.Fatalf("the refused rotation's detail: %q", d)
		}
	}
	if newest, oldest := c.versions(); newest != before+1 || oldest != newest {
		t.Fatalf("Vault key versions %d..%d after the rotations, want %d..%d: one rotation, finished", oldest, newest, before+1, before+1)
	}
	r := c.servers[2].do("GET", "/rotate-master-key", admins[0], nil).want(t, 200, "rotation status")
	if r.JSON["state"] != "done" || r.JSON["target_version"] != float64(before+1) || r.JSON["rewrapped"] != float64(60) {
		t.Fatalf("rotation status %s, want done, version %d, 60 keys rewrapped", r.Raw, before+1)
	}
	ev := countEvents(c.events(""))
	if ev["key.rotate.start success"] != 1 || ev["key.rotate.start failure"] != 1 || ev["key.rotate.done success"] != 1 {
		t.Fatalf("rotation events: %v; want one start and one done, and one refused start", ev)
	}
}

// TestClusterRotationUnderLoad rotates the master key on server A while
// B and C serve the seeded accounts' records and B registers new accounts.
// The rotation rewraps 60 data keys three a batch, 100 ms apart (two
// seconds or more), so that reads (most of them a server's first of an
// account: an unwrap while the key is rewrapped) and registrations fall
// inside it. One more registration, on C, wraps its data key before the
// rotation starts and is held (a failpoint) until the rotation has ended:
// the store must refuse that key, under the retired version, and the
// registration wrap it again. Every read answers 200 with the record's
// value; at the end every data key is under the new version, the old
// version is retired, and a fresh service reads and writes every
// account's records.
func TestClusterRotationUnderLoad(t *testing.T) {
	t.Parallel()
	cfg := withVault(t, storeConfig(t, "mongodb"), vault.ServicePolicy, vault.OperatorPolicy)
	env := []string{"STRONGROOM_TEST_MAIN=serve -batch-size 3 -pause 100ms", "STRONGROOM_LOGIN_RATE=0"}
	c := startCluster(t, 2, cfg, env...)
	release := filepath.Join(t.TempDir(), "release")
	held, cmd := serveChild(t, cfg, append(env, "STRONGROOM_TEST_FAILPOINT="+service.FailpointKeyWrapped, "STRONGROOM_TEST_FAILPOINT_UNTIL="+release)...)
	c.servers, c.cmds = append(c.servers, held), append(c.cmds, cmd)
	ctx := context.Background()
	if err := c.local.Service.Register(ctx, "", "boss", "boss@example.com", seedPassword); err != nil {
		t.Fatal(err)
	}
	seedStart := time.Now()
	seeded := c.seed("user", 59)
	t.Logf("seeded %d accounts in %v", len(seeded), time.Since(seedStart).Round(time.Millisecond))
	admin := c.servers[0].login("boss", seedPassword)
	before, _ := c.versions()

	var (
		stop     atomic.Bool
		mu       sync.Mutex
		failures []string
		reads    atomic.Int64
		late     []string // accounts registered meanwhile
		wg       sync.WaitGroup
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 10 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}
	register := func(s *testServer, name string) bool {
		st, body := call(&http.Client{Timeout: time.Minute}, "POST", s.URL+"/register", "",
			map[string]string{"username": name, "email": name + "@example.com", "password": seedPassword})
		if st != 200 {
			fail("registration of %s on %s: %d %v", name, s.URL, st, body)
			return false
		}
		mu.Lock()
		late = append(late, name)
		mu.Unlock()
		return true
	}
	// A reader on B and on C, through the accounts from different offsets.
	for r := range 2 {
		s := c.servers[1+r]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := r * len(seeded) / 2; !stop.Load(); i++ {
				u := seeded[i%len(seeded)]
				st, body := call(client, "GET", s.URL+"/sensitive-data/"+u.recordID, u.token, nil)
				if st != 200 || body["value"] != u.value {
					fail("read of %s's record on %s: %d %v", u.name, s.URL, st, body)
				}
				reads.Add(1)
				time.Sleep(10 * time.Millisecond) // room for the rotation's writes on the test's one FerretDB
			}
		}()
	}
	// A registrar on B.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			register(c.servers[1], fmt.Sprintf("late%03d", i))
		}
	}()
	// The held registration on C.
	heldDone := make(chan bool, 1)
	go func() { heldDone <- register(held, "held") }()
	for deadline := time.Now().Add(time.Minute); !strings.Contains(held.Logs.String(), "failpoint reached"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the held registration never wrapped its key")
		}
	}

	readsBefore := reads.Load()
	mu.Lock()
	lateBefore := len(late)
	mu.Unlock()
	start := time.Now()
	st, body := call(&http.Client{Timeout: 2 * time.Minute}, "POST", c.servers[0].URL+"/rotate-master-key", admin, nil)
	took := time.Since(start)
	mu.Lock()
	during := len(late) - lateBefore
	mu.Unlock()
	readsDuring := reads.Load() - readsBefore
	if err := os.WriteFile(release, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	heldOK := <-heldDone
	stop.Store(true)
	wg.Wait()
	t.Logf("rotation took %v; meanwhile %d reads and %d accounts registered", took.Round(time.Millisecond), readsDuring, during)
	if st != 200 {
		t.Fatalf("rotation: %d %v", st, body)
	}
	if len(failures) > 0 || !heldOK {
		t.Fatalf("during the rotation:\n%s", strings.Join(failures, "\n"))
	}
	if readsDuring < 50 || during == 0 {
		t.Fatalf("%d reads and %d registrations during the rotation: too few to prove anything", readsDuring, during)
	}

	newest, oldest := c.versions()
	if newest != before+1 || oldest != newest {
		t.Fatalf("Vault key versions %d..%d after the rotation, want %d..%d", oldest, newest, before+1, before+1)
	}
	for _, name := range late { // registered during the rotation, or just after it
		seeded = append(seeded, seededUser{name: name, id: c.userID(name)})
	}
	for _, u := range seeded {
		k, err := c.local.Store.UserKey(ctx, u.id)
		if err != nil || k.Version != newest {
			t.Fatalf("%s's data key: version %d (%v), want %d", u.name, k.Version, err, newest)
		}
	}
	if n, err := c.local.Store.CountKeysBelowVersion(ctx, newest); err != nil || n != 0 {
		t.Fatalf("%d data keys under older versions (%v)", n, err)
	}
	// A fresh service (an empty key cache) unwraps every data key under
	// the new version alone: it reads every record, and writes one for
	// each account registered meanwhile.
	m := NewMain()
	m.Config, m.Log = c.local.Config, discardLog()
	if err := m.open(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, u := range seeded {
		if u.recordID == "" {
			r, err := m.Service.CreateRecord(ctx, &service.Principal{UserID: u.id}, "card_number", "5555555555554444")
			if err != nil {
				t.Fatalf("a record for %s, registered during the rotation: %v", u.name, err)
			}
			u.recordID, u.value = r.ID, r.Value
		}
		rs, err := allRecords(m.Service, u.id)
		if err != nil || len(rs) != 1 || rs[0].ID != u.recordID || rs[0].Value != u.value {
			t.Fatalf("%s's records after the rotation: %v, %v; want %s", u.name, rs, err, u.value)
		}
	}
}
