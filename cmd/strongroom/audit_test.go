package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/internal/testclock"
	"github.com/strongroom/strongroom/sqlite"
)

// auditCommand runs "strongroom audit ARGS..." against cfg's store with
// extra environment, as an operator on the machine would while the
// server runs. The pepper comes from the data dir, where the server
// generated it, unless extra sets PEPPER.
func auditCommand(t *testing.T, cfg Config, extra map[string]string, args ...string) (string, string, error) {
	t.Helper()
	env := map[string]string{"STRONGROOM_DATA_DIR": cfg.DataDir, "MONGODB_URL": cfg.MongoDBURL.Reveal(), "DB_NAME": cfg.DBName}
	for k, v := range extra {
		env[k] = v
	}
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok && v != "" }
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append([]string{"audit"}, args...), lookup, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// recordEvents records n events through the server's trail: users u0, u1,
// u2 in turn, every third a login failure, the rest record reads, the
// first half at at, the rest now.
func recordEvents(t *testing.T, s *testServer, n int, at time.Time) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		e := strongroom.AuditEvent{Type: strongroom.AuditRecordRead, Outcome: strongroom.AuditSuccess,
			UserID: fmt.Sprint("u", i%3), Target: fmt.Sprint("record-", i), Client: "192.0.2.1", RequestID: fmt.Sprint("req-", i)}
		if i%3 == 0 {
			e.Type, e.Outcome = strongroom.AuditLoginFailure, strongroom.AuditFailure
		}
		if i < n/2 {
			e.Time = at
		}
		var err error
		if i%2 == 0 {
			err = s.AuditTrail.Record(ctx, e)
		} else {
			err = s.AuditTrail.RecordAsync(ctx, e)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// One more waited for: it is appended after the asynchronous ones.
	if err := s.AuditTrail.Record(ctx, strongroom.AuditEvent{Type: strongroom.AuditKeyRotateDone, Outcome: strongroom.AuditSuccess}); err != nil {
		t.Fatal(err)
	}
}

var verifiedLine = regexp.MustCompile(`^(\d+) events, seq (\d+)\.\.(\d+), head ok \(head (\d+:[0-9a-f]{64})\)\n$`)

// The operator verifies and exports a server's audit trail while it runs,
// sees an edit in the database named by its seq, and, with the head an
// earlier verify printed, a tail cut together with its head.
func TestAuditCommands(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, testAuditCommands)
}

func testAuditCommands(t *testing.T, cfg Config) {
	s := startServer(t, cfg)
	recordEvents(t, s, 12, time.Now().Add(-48*time.Hour)) // events 1..13

	out, _, err := auditCommand(t, cfg, nil, "verify")
	m := verifiedLine.FindStringSubmatch(out)
	if err != nil || m == nil || m[1] != "13" || m[2] != "1" || m[3] != "13" || !strings.HasPrefix(m[4], "13:") {
		t.Fatalf("audit verify: %q, %v", out, err)
	}
	head := m[4]

	// Export: one JSON object a line, oldest first, with every field.
	out, _, err = auditCommand(t, cfg, nil, "export")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 13 {
		t.Fatalf("export wrote %d lines, want 13:\n%s", len(lines), out)
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(first))
	for k := range first {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if fmt.Sprint(keys) != "[client hash outcome prev request_id seq target time type user_id]" {
		t.Fatalf("an exported event has the fields %v", keys)
	}
	if first["seq"] != 1.0 || first["type"] != "login.failure" || first["user_id"] != "u0" || first["request_id"] != "req-0" ||
		first["prev"] != strings.Repeat("0", 64) || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(first["hash"].(string)) ||
		!regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`).MatchString(first["time"].(string)) {
		t.Fatalf("first exported event %v", first)
	}

	// Filters.
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"-user", "u1"}, 4},
		{[]string{"-type", "login.failure"}, 4},
		{[]string{"-user", "u0", "-type", "login.failure"}, 4},
		{[]string{"-user", "u0", "-type", "record.read"}, 0},
		{[]string{"-since", "24h"}, 7},
		{[]string{"-since", "3d"}, 13},
		{[]string{"-since", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, 0},
	} {
		out, _, err := auditCommand(t, cfg, nil, append([]string{"export"}, tc.args...)...)
		if err != nil || strings.Count(out, "\n") != tc.want {
			t.Errorf("export %v: %d lines, %v; want %d", tc.args, strings.Count(out, "\n"), err, tc.want)
		}
	}
	file := filepath.Join(t.TempDir(), "audit.jsonl")
	if _, stderr, err := auditCommand(t, cfg, nil, "export", "-o", file, "-user", "u2"); err != nil || !strings.Contains(stderr, "4 events written") {
		t.Fatalf("export -o: %q, %v", stderr, err)
	}
	if b, err := os.ReadFile(file); err != nil || bytes.Count(b, []byte("\n")) != 4 {
		t.Fatalf("the export file: %d lines, %v", bytes.Count(b, []byte("\n")), err)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the export file's mode: %v, %v", fi.Mode(), err)
	}
	for _, args := range [][]string{{"export", "-since", "yesterday"}, {"verify", "-expect", "12"}, {"verify", "extra"}, {"inspect"}, {}} {
		if _, _, err := auditCommand(t, cfg, nil, args...); err == nil {
			t.Errorf("audit %v accepted", args)
		}
	}
	if _, _, err := auditCommand(t, cfg, map[string]string{"PEPPER": "another-pepper-of-16+"}, "verify"); err == nil ||
		!strings.Contains(err.Error(), "event 1:") {
		t.Fatalf("verify under another pepper: %v; want event 1 named", err)
	}

	// The tail and its head rolled back together: only the earlier head
	// shows it.
	raw := openRawAudit(t, cfg)
	raw.deleteFrom(t, 12)
	raw.setHead(t, 11)
	if out, _, err := auditCommand(t, cfg, nil, "verify"); err != nil || !strings.HasPrefix(out, "11 events, seq 1..11, head ok") {
		t.Fatalf("verify after a rollback, without the earlier head: %q, %v", out, err)
	}
	_, _, err = auditCommand(t, cfg, nil, "verify", "-expect", head)
	if err == nil || !strings.Contains(err.Error(), "event 12: missing") {
		t.Fatalf("verify -expect %s after a rollback: %v; want event 12 named missing", head, err)
	}

	// An edited event is named, by its seq, with what is wrong.
	raw.setOutcome(t, 4, "success")
	_, _, err = auditCommand(t, cfg, nil, "verify")
	if err == nil || !strings.Contains(err.Error(), "audit chain broken at event 4: its hash does not match its content") {
		t.Fatalf("verify after an edit: %v", err)
	}
	if strings.Contains(err.Error(), "success") || strings.Contains(err.Error(), "u1") {
		t.Fatalf("the error repeats the event's content: %v", err)
	}

	// As a process: exit status 1 and one line on stderr.
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "STRONGROOM_TEST_MAIN=audit verify -data-dir "+cfg.DataDir, "MONGODB_URL="+cfg.MongoDBURL.Reveal(), "DB_NAME="+cfg.DBName)
	cmd.Dir = t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || stdout.Len() != 0 ||
		!regexp.MustCompile(`(?m)^strongroom: audit verify: audit chain broken at event 4: [^\n]+\n\z`).MatchString(stderr.String()) {
		t.Fatalf("audit verify as a process: %v; stdout %q, stderr %q", err, stdout.String(), stderr.String())
	}
}

// Pruning by command keeps the events of the retention and a chain that
// verifies from the first of them; a server with a retention prunes by
// itself.
func TestAuditPrune(t *testing.T) {
	// Not parallel: it shortens auditPruneTick, a package variable every
	// server reads.
	forEachStore(t, testAuditPrune)
}

func testAuditPrune(t *testing.T, cfg Config) {
	s := startServer(t, cfg)
	recordEvents(t, s, 10, time.Now().Add(-100*24*time.Hour)) // 5 old, 6 new
	if _, _, err := auditCommand(t, cfg, nil, "prune"); err == nil || !strings.Contains(err.Error(), "STRONGROOM_AUDIT_RETENTION") {
		t.Fatalf("prune without a retention: %v", err)
	}
	if _, _, err := auditCommand(t, cfg, nil, "prune", "-older-than", "10m"); err == nil {
		t.Fatal("prune -older-than 10m accepted")
	}
	out, _, err := auditCommand(t, cfg, map[string]string{"STRONGROOM_AUDIT_RETENTION": "90d"}, "prune")
	if err != nil || !strings.HasPrefix(out, "5 events older than ") {
		t.Fatalf("prune: %q, %v", out, err)
	}
	if out, _, err := auditCommand(t, cfg, nil, "prune", "-older-than", "2160h"); err != nil || !strings.HasPrefix(out, "0 events") {
		t.Fatalf("prune again: %q, %v", out, err)
	}
	if out, _, err := auditCommand(t, cfg, nil, "verify"); err != nil || !strings.HasPrefix(out, "6 events, seq 6..11, head ok") {
		t.Fatalf("verify after pruning: %q, %v", out, err)
	}
	s.Close()

	// A server with a retention prunes once an hour by its clock, here
	// 100 days ahead, so that the events so far are old.
	auditPruneTick = 10 * time.Millisecond
	t.Cleanup(func() { auditPruneTick = time.Minute }) // after the server's own cleanup
	clock := testclock.New(time.Now().Add(100 * 24 * time.Hour))
	cfg.AuditRetention = 90 * 24 * time.Hour
	s = startServerAt(t, cfg, clock.Now)                     // prunes 6..10 at once
	recordEvents(t, s, 4, clock.Now().Add(-91*24*time.Hour)) // events 12..16, 12 and 13 old
	clock.Add(2 * time.Hour)                                 // the next prune is due
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := s.Store.AuditStart(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Seq == 14 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not prune: the chain starts at %d", st.Seq)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if out, _, err := auditCommand(t, cfg, nil, "verify"); err != nil || !strings.HasPrefix(out, "3 events, seq 14..16, head ok") {
		t.Fatalf("verify after the server pruned: %q, %v", out, err)
	}
}

func TestAuditRetentionConfig(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{"": 0, "0": 0, "90d": 90 * 24 * time.Hour, "2160h": 2160 * time.Hour, "1h": time.Hour} {
		if got, err := parseRetention(in); err != nil || got != want {
			t.Errorf("parseRetention(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"30m", "-1d", "0d", "d", "90 days", "1y", "-2h"} {
		if _, err := parseRetention(in); err == nil {
			t.Errorf("parseRetention(%q) accepted", in)
		}
	}
	load := func(vars map[string]string) (Config, error) {
		env, err := NewEnv(func(name string) (string, bool) { v, ok := vars[name]; return v, ok }, filepath.Join(t.TempDir(), ".env"))
		if err != nil {
			t.Fatal(err)
		}
		return LoadConfig(env)
	}
	if c, err := load(map[string]string{"STRONGROOM_AUDIT_RETENTION": "90d", "STRONGROOM_AUDIT_SYNC": "true"}); err != nil ||
		c.AuditRetention != 90*24*time.Hour || !c.AuditSync {
		t.Fatalf("retention %v, sync %v, %v", c.AuditRetention, c.AuditSync, err)
	}
	if c, err := load(nil); err != nil || c.AuditRetention != 0 || c.AuditSync {
		t.Fatalf("defaults: retention %v, sync %v, %v", c.AuditRetention, c.AuditSync, err)
	}
	for name, v := range map[string]string{"STRONGROOM_AUDIT_RETENTION": "soon", "STRONGROOM_AUDIT_SYNC": "always"} {
		if _, err := load(map[string]string{name: v}); err == nil || !strings.Contains(err.Error(), name) {
			t.Fatalf("%s=%s: %v", name, v, err)
		}
	}
}

// The audit commands never make a pepper: without one there is no key.
func TestAuditNeedsThePepper(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, t.TempDir())
	_, _, err := auditCommand(t, cfg, nil, "verify")
	if err == nil || !strings.Contains(err.Error(), "PEPPER") {
		t.Fatalf("verify without a pepper: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, secretsFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("verify wrote %s: %v", secretsFile, err)
	}
}

// rawAudit edits a store's audit records around it, in SQL or with the
// driver.
type rawAudit struct {
	sql   *sql.DB
	mongo *mdb.Database
}

func openRawAudit(t *testing.T, cfg Config) rawAudit {
	t.Helper()
	if cfg.MongoDBURL.IsSet() {
		c, err := mdb.Connect(options.Client().ApplyURI(cfg.MongoDBURL.Reveal()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Disconnect(context.Background()) })
		return rawAudit{mongo: c.Database(cfg.DBName)}
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(cfg.DataDir, sqlite.FileName)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return rawAudit{sql: db}
}

func (r rawAudit) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := r.sql.Exec(q, args...); err != nil {
		t.Fatal(err)
	}
}

func (r rawAudit) setOutcome(t *testing.T, seq int64, outcome string) {
	t.Helper()
	if r.sql != nil {
		r.exec(t, "UPDATE audit_events SET outcome = ? WHERE seq = ?", outcome, seq)
		return
	}
	if _, err := r.mongo.Collection("audit_events").UpdateOne(context.Background(), bson.D{{Key: "_id", Value: seq}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "outcome", Value: outcome}}}}); err != nil {
		t.Fatal(err)
	}
}

// deleteFrom deletes the events from seq on.
func (r rawAudit) deleteFrom(t *testing.T, seq int64) {
	t.Helper()
	if r.sql != nil {
		r.exec(t, "DELETE FROM audit_events WHERE seq >= ?", seq)
		return
	}
	if _, err := r.mongo.Collection("audit_events").DeleteMany(context.Background(), bson.D{{Key: "_id", Value: bson.D{{Key: "$gte", Value: seq}}}}); err != nil {
		t.Fatal(err)
	}
}

// setHead makes the event at seq the head, as an append that ended there
// would have.
func (r rawAudit) setHead(t *testing.T, seq int64) {
	t.Helper()
	ctx := context.Background()
	if r.sql != nil {
		r.exec(t, "UPDATE audit_head SET seq = ?1, hash = (SELECT hash FROM audit_events WHERE seq = ?1)", seq)
		return
	}
	var e struct {
		Hash []byte `bson:"hash"`
	}
	if err := r.mongo.Collection("audit_events").FindOne(ctx, bson.D{{Key: "_id", Value: seq}}).Decode(&e); err != nil {
		t.Fatal(err)
	}
	heads := r.mongo.Collection("audit_head")
	if _, err := heads.DeleteMany(ctx, bson.D{}); err != nil {
		t.Fatal(err)
	}
	if _, err := heads.InsertOne(ctx, bson.D{{Key: "_id", Value: seq}, {Key: "hash", Value: e.Hash}}); err != nil {
		t.Fatal(err)
	}
}
