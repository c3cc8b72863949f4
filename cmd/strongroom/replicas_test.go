package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/service"
)

// serveChild runs "strongroom serve" on cfg's store, key manager and data
// dir as a separate process (the test binary, see TestMain), with extra
// environment, and returns it as a test server once it serves. The
// process is killed at the end of the test. An env entry
// STRONGROOM_TEST_MAIN="serve -flag value" gives serve flags (the last
// entry of a name wins).
func serveChild(t *testing.T, cfg Config, env ...string) (*testServer, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "STRONGROOM_TEST_MAIN=serve", "STRONGROOM_ADDR=127.0.0.1:0", "STRONGROOM_DATA_DIR="+cfg.DataDir,
		"STRONGROOM_BCRYPT_COST=10", "EMAIL_FROM="+cfg.EmailFrom)
	if cfg.MongoDBURL.IsSet() {
		cmd.Env = append(cmd.Env, "MONGODB_URL="+cfg.MongoDBURL.Reveal(), "DB_NAME="+cfg.DBName)
	}
	if cfg.VaultAddr != "" {
		cmd.Env = append(cmd.Env, "VAULT_ADDR="+cfg.VaultAddr, "VAULT_TOKEN="+cfg.VaultToken.Reveal(),
			"VAULT_TRANSIT_MOUNT="+cfg.VaultMount, "VAULT_TRANSIT_KEY="+cfg.VaultKey)
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Dir = cfg.DataDir
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.Write(append(sc.Bytes(), '\n'))
			var entry struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &entry) == nil && entry.Msg == "strongroom serving" {
				addr <- entry.Addr
			}
		}
		close(addr)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("log of the child process:\n%s", logs.String())
		}
	})
	a, ok := <-addr
	if !ok {
		_ = cmd.Wait()
		t.Fatalf("the child process did not start serving:\n%s", logs.String())
	}
	return &testServer{Main: &Main{Config: cfg}, t: t, URL: "http://" + a, Logs: logs}, cmd
}

// refusedWithin polls tok on s until it is refused, for at most limit,
// and returns how long that took.
func refusedWithin(t *testing.T, s *testServer, tok string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for s.works(tok) {
		if time.Since(start) > limit {
			t.Fatalf("the ended session is still accepted by %s after %v", s.URL, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// TestRevocationReachesEveryReplica runs two server processes on one
// MongoDB database: a session ended on one is refused by the other
// (within a poll of the store: about 250 ms, a second at most by design),
// and sessions not ended go on working on both.
func TestRevocationReachesEveryReplica(t *testing.T) {
	t.Parallel()
	cfg := storeConfig(t, "mongodb")
	a, _ := serveChild(t, cfg)
	b, _ := serveChild(t, cfg) // the same data dir: the same secrets and keyring
	a.register("alice", seedPassword)
	t1, t2, t3 := a.login("alice", seedPassword), a.login("alice", seedPassword), b.login("alice", seedPassword)
	for _, tok := range []string{t1, t2, t3} {
		if !a.works(tok) || !b.works(tok) {
			t.Fatal("a token of one replica does not work on the other")
		}
	}
	// Logout on A: A refuses at once, B within the poll.
	a.do("POST", "/logout", t1, nil).want(t, 200, "logout on A")
	if a.works(t1) {
		t.Fatal("the replica that ended the session still accepts it")
	}
	d := refusedWithin(t, b, t1, 5*time.Second)
	t.Logf("logout on A refused by B after %v", d)

	// A session revoked on B is refused by A.
	r := b.do("GET", "/sessions", t3, nil).want(t, 200, "sessions on B")
	var id string
	for _, e := range r.List {
		if m := e.(map[string]any); m["current"] != true {
			id = m["id"].(string) // t2's session
		}
	}
	if len(r.List) != 2 || id == "" {
		t.Fatalf("sessions on B: %s", r.Raw)
	}
	b.do("DELETE", "/sessions/"+id, t3, nil).want(t, 200, "revoke on B")
	t.Logf("revocation on B refused by A after %v", refusedWithin(t, a, t2, 5*time.Second))
	if !a.works(t3) || !b.works(t3) {
		t.Fatal("the session that was not ended stopped working")
	}

	// A password changed on B ends A's other sessions; the account deleted
	// on A ends B's.
	t4 := a.login("alice", seedPassword)
	b.do("POST", "/change-password", t3, map[string]string{"current_password": seedPassword, "new_password": "N3w-Passw0rd!long"}).
		want(t, 200, "change password on B")
	t.Logf("password change on B refused by A after %v", refusedWithin(t, a, t4, 5*time.Second))
	t5 := b.login("alice", "N3w-Passw0rd!long")
	a.do("DELETE", "/account", t3, map[string]string{"password": "N3w-Passw0rd!long"}).want(t, 200, "delete on A")
	t.Logf("deletion on A refused by B after %v", refusedWithin(t, b, t5, 5*time.Second))
	if b.works(t3) {
		t.Fatal("B accepts the token of a deleted account")
	}
}

// TestDeletionKilledBetweenSteps kills the server (kill -9) after each
// durable step of an account deletion: the records are unreadable from
// the first step on, the wrapped key is gone from the store, and the next
// server to start completes the deletion.
func TestDeletionKilledBetweenSteps(t *testing.T) {
	t.Parallel()
	for _, fp := range []string{service.FailpointKeyDestroyed, service.FailpointSessionsEnded} {
		t.Run(fp, func(t *testing.T) {
			t.Parallel()
			forEachStoreParallel(t, func(t *testing.T, cfg Config) { testDeletionKilled(t, cfg, fp) })
		})
	}
}

func testDeletionKilled(t *testing.T, cfg Config, failpoint string) {
	ctx := context.Background()
	s, cmd := serveChild(t, cfg, "STRONGROOM_TEST_FAILPOINT="+failpoint)
	s.register("alice", seedPassword)
	tok := s.login("alice", seedPassword)
	for _, v := range []string{"1234567812345678", "8765432187654321"} {
		s.do("POST", "/sensitive-data", tok, map[string]string{"data_type": "card_number", "value": v}).want(t, 200, "create")
	}
	// The request is sent from another goroutine, which must not fail the
	// test: its connection is cut when the server is killed.
	answered := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("DELETE", s.URL+"/account", strings.NewReader(`{"password":"`+seedPassword+`"}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			answered <- 0
			return
		}
		res.Body.Close()
		answered <- res.StatusCode
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(s.Logs.String(), "failpoint reached: "+failpoint) {
		if time.Now().After(deadline) {
			t.Fatal("the deletion never reached the failpoint")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if status := <-answered; status != 0 {
		t.Fatalf("the killed deletion answered %d", status)
	}

	// What the kill left: no key; the records, still stored, unreadable.
	m := NewMain()
	m.Config, m.Log = cfg, discardLog()
	if err := m.open(ctx); err != nil {
		t.Fatal(err)
	}
	deleting, err := m.Store.UsersBeingDeleted(ctx, 10)
	if err != nil || len(deleting) != 1 || deleting[0].Username != "alice" {
		t.Fatalf("users being deleted: %v, %v", deleting, err)
	}
	id := deleting[0].ID
	if _, err := m.Store.UserKey(ctx, id); !strongroom.IsKind(err, strongroom.KindNotFound) {
		t.Fatalf("the wrapped key is still there: %v", err)
	}
	if rs, err := m.Store.Records(ctx, id, strongroom.RecordCursor{}, 10); err != nil || len(rs) != 2 {
		t.Fatalf("the kill came later than the failpoint: %d records stored, %v", len(rs), err)
	}
	if _, err := allRecords(m.Service, id); !strongroom.IsKind(err, strongroom.KindUnauthorized) {
		t.Fatalf("reading the records after the key was destroyed: %v", err)
	}
	if _, err := m.Store.UserByUsername(ctx, "alice"); !strongroom.IsKind(err, strongroom.KindNotFound) {
		t.Fatalf("the account being deleted is still found: %v", err)
	}
	m.Close()

	// The next server completes the deletion as it starts.
	s2 := startServer(t, cfg)
	if s2.works(tok) {
		t.Fatal("the deleted account's token works")
	}
	if left, _ := s2.Store.UsersBeingDeleted(ctx, 10); len(left) != 0 {
		t.Fatalf("deletions left after start: %v", left)
	}
	if rs, err := s2.Store.Records(ctx, id, strongroom.RecordCursor{}, 10); err != nil || len(rs) != 0 {
		t.Fatalf("records left after the deletion completed: %d, %v", len(rs), err)
	}
	s2.register("alice", seedPassword)
	if r := s2.do("GET", "/sensitive-data", s2.login("alice", seedPassword), nil).want(t, 200, "list"); len(r.List) != 0 {
		t.Fatalf("the new alice sees %s", r.Raw)
	}
	if mails := s2.mails("alice@example.com"); !strings.Contains(strings.Join(mails, "\n"), "account was deleted") {
		t.Fatal("no deletion notice was mailed")
	}
}
