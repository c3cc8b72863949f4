package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strongroom/strongroom/service"
)

// seedUsers registers n users with one record each, through the service.
func seedUsers(t *testing.T, m *Main, n int) map[string]string {
	t.Helper()
	ctx := context.Background()
	values := map[string]string{}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("user%03d", i)
		if err := m.Service.Register(ctx, "", name, name+"@example.com", seedPassword); err != nil {
			t.Fatal(err)
		}
		u, err := m.Store.UserByUsername(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		v := fmt.Sprintf("4000%012d", i)
		if _, err := m.Service.CreateRecord(ctx, &service.Principal{UserID: u.ID}, "card_number", v); err != nil {
			t.Fatal(err)
		}
		values[u.ID] = v
	}
	return values
}

// checkAllReadable opens the data dir afresh and reads every record.
func checkAllReadable(t *testing.T, dir string, values map[string]string) {
	t.Helper()
	m := NewMain()
	m.Config = testConfig(t, dir)
	m.Log = discardLog()
	if err := m.open(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for id, want := range values {
		rs, err := allRecords(m.Service, id)
		if err != nil || len(rs) != 1 || rs[0].Value != want {
			t.Fatalf("user %s: records %v, %v; want %s", id, rs, err, want)
		}
	}
}

// allRecords reads the user's whole list.
func allRecords(svc *service.Service, userID string) ([]service.RecordView, error) {
	ctx := context.Background()
	l, err := svc.Records(ctx, &service.Principal{UserID: userID}, "", 0)
	if err != nil {
		return nil, err
	}
	var out []service.RecordView
	err = l.Each(ctx, func(v service.RecordView) error { out = append(out, v); return nil })
	return out, err
}

// runChild runs "strongroom <args>" as a separate process.
func runChild(t *testing.T, dir string, args string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "STRONGROOM_TEST_MAIN="+args+" -data-dir "+dir, "STRONGROOM_BCRYPT_COST=10")
	cmd.Dir = dir
	return cmd
}

// TestRotationSurvivesKill9 kills the rotate-master-key command mid-way,
// checks that every record is still readable, runs it again to finish,
// and checks again.
func TestRotationSurvivesKill9(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m := NewMain()
	m.Config = testConfig(t, dir)
	m.Log = discardLog()
	if err := m.open(context.Background()); err != nil {
		t.Fatal(err)
	}
	values := seedUsers(t, m, 120)
	m.Close()

	// Rewrap one key per batch, slowly, and kill the process part-way.
	cmd := runChild(t, dir, "rotate-master-key -batch-size 1 -pause 20ms")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("child's log:\n%s", stderr.String())
		}
	})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	seen := 0
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "rewrapping:") {
			if seen++; seen == 30 {
				break
			}
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if seen < 30 {
		t.Fatalf("the rotation printed %d batches before it was killed", seen)
	}

	// Half-way: two master-key versions, keys under both, every record readable.
	ctx := context.Background()
	m2 := NewMain()
	m2.Config = testConfig(t, dir)
	m2.Log = discardLog()
	if err := m2.open(ctx); err != nil {
		t.Fatal(err)
	}
	newest, oldest, _ := m2.Keys.Versions(ctx)
	old, _ := m2.Store.CountKeysBelowVersion(ctx, 2)
	r, _ := m2.Store.Rotation(ctx)
	m2.Close()
	if newest != 2 || oldest != 1 || old == 0 || old == len(values) || r.State != "rewrapping" {
		t.Fatalf("after kill: versions %d..%d, %d keys still v1, state %q; want a rotation caught half-way", oldest, newest, old, r.State)
	}
	checkAllReadable(t, dir, values)

	// Restart and finish. The killed process's lease lapses 30 s after its
	// last batch; the operator's rerun is run with the clock a minute on,
	// rather than sleeping.
	var printed strings.Builder
	resume := NewMain()
	resume.Config = testConfig(t, dir)
	resume.Log = discardLog()
	resume.Stdout = &printed
	resume.Now = func() time.Time { return time.Now().Add(time.Minute) }
	if err := resume.RotateMasterKey(ctx); err != nil {
		t.Fatalf("resumed rotation: %v", err)
	}
	if out := printed.String(); !strings.Contains(out, "state: done") || !strings.Contains(out, "version: 2") {
		t.Fatalf("resumed rotation printed:\n%s", out)
	}
	checkAllReadable(t, dir, values)

	m3 := NewMain()
	m3.Config = testConfig(t, dir)
	m3.Log = discardLog()
	if err := m3.open(ctx); err != nil {
		t.Fatal(err)
	}
	defer m3.Close()
	newest, oldest, _ = m3.Keys.Versions(ctx)
	left, _ := m3.Store.CountKeysBelowVersion(ctx, 2)
	if newest != 2 || oldest != 2 || left != 0 {
		t.Fatalf("after resume: versions %d..%d, %d keys under v1", oldest, newest, left)
	}
	if r, _ := m3.Store.Rotation(ctx); r.Rewrapped != len(values) {
		t.Fatalf("rewrapped %d keys in all, want %d", r.Rewrapped, len(values))
	}
}
