package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// adminCommand runs "strongroom admin ARGS..." against cfg's store, as an
// operator on the machine would while the server runs.
func adminCommand(t *testing.T, cfg Config, args ...string) (string, error) {
	t.Helper()
	env := map[string]string{"STRONGROOM_DATA_DIR": cfg.DataDir, "MONGODB_URL": cfg.MongoDBURL.Reveal(), "DB_NAME": cfg.DBName}
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok && v != "" }
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append([]string{"admin"}, args...), lookup, &stdout, &stderr)
	return stdout.String(), err
}

// An operator grants and revokes the administrator role of an existing
// account; it applies to the account's token at once.
func TestAdminGrant(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, testAdminGrant)
}

func testAdminGrant(t *testing.T, cfg Config) {
	s := startServer(t, cfg)
	s.register("first", seedPassword)
	s.register("second", seedPassword)
	first, second := s.login("first", seedPassword), s.login("second", seedPassword)
	s.do("GET", "/rotate-master-key", first, nil).want(t, 200, "the first account of an empty store is admin")
	s.do("POST", "/rotate-master-key", second, nil).want(t, 403, "a later registration is not admin")

	out, err := adminCommand(t, cfg, "grant", "Second")
	if err != nil || !strings.Contains(out, "second is now an administrator") {
		t.Fatalf("admin grant: %q, %v", out, err)
	}
	s.do("POST", "/rotate-master-key", second, nil).want(t, 200, "rotate after admin grant")
	s.do("GET", "/admin/audit", second, nil).want(t, 200, "the whole audit trail after admin grant")

	if out, err := adminCommand(t, cfg, "revoke", "second"); err != nil || !strings.Contains(out, "no longer") {
		t.Fatalf("admin revoke: %q, %v", out, err)
	}
	s.do("POST", "/rotate-master-key", second, nil).want(t, 403, "rotate after admin revoke")
	s.do("GET", "/admin/audit", second, nil).want(t, 403, "the same token, on the audit trail, after admin revoke")

	if _, err := adminCommand(t, cfg, "grant", "nobody"); err == nil || !strings.Contains(err.Error(), "no account") {
		t.Fatalf("admin grant of an unknown account: %v", err)
	}
	for _, args := range [][]string{{"grant"}, {"promote", "second"}, {"grant", "a", "b"}} {
		if _, err := adminCommand(t, cfg, args...); err == nil {
			t.Fatalf("admin %v accepted", args)
		}
	}
}

// A MongoDB database that already has users from the seed design: the
// first account registered through Strongroom is not an administrator;
// an operator makes one with "strongroom admin grant".
func TestSeededMongoGetsNoAdminByRegistering(t *testing.T) {
	t.Parallel()
	cfg := storeConfig(t, "mongodb")
	ctx := context.Background()
	client, err := mdb.Connect(options.Client().ApplyURI(cfg.MongoDBURL.Reveal()))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	// A user as the seed's FastAPI app stored it: its fields, no is_admin.
	_, err = client.Database(cfg.DBName).Collection("users").InsertOne(ctx, bson.D{
		{Key: "_id", Value: bson.NewObjectID()}, {Key: "username", Value: "seeduser"}, {Key: "email", Value: "seed@example.com"},
		{Key: "hashed_password", Value: "$2b$12$C6UzMDM.H6dfI/f/IKcEeO5F2r2JMz7V7p0P6pG3t8r0sYlJ9m4y."},
		{Key: "salt", Value: "0f1e2d3c4b5a69788796a5b4c3d2e1f0"}, {Key: "failed_attempts", Value: int32(0)},
		{Key: "last_failed_attempt_time", Value: nil}, {Key: "totp_secret", Value: nil}, {Key: "two_factor_enabled", Value: false},
		{Key: "created_at", Value: time.Now()},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, cfg)
	s.register("newcomer", seedPassword)
	tok := s.login("newcomer", seedPassword)
	s.do("POST", "/rotate-master-key", tok, nil).want(t, 403, "first Strongroom registration on a seeded database")
	if out, err := adminCommand(t, cfg, "grant", "newcomer"); err != nil {
		t.Fatalf("admin grant: %q, %v", out, err)
	}
	s.do("POST", "/rotate-master-key", tok, nil).want(t, 200, "rotate after admin grant")
}

// STRONGROOM_ADMINS let whoever registered a listed name first become an
// administrator; the server now refuses to start with it set.
func TestAdminsEnvRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"STRONGROOM_DATA_DIR": dir, "STRONGROOM_ADDR": "127.0.0.1:0", "STRONGROOM_ADMINS": "ops"}
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := run(ctx, []string{"serve"}, lookup, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "admin grant") {
		t.Fatalf("serve with STRONGROOM_ADMINS set: %v; want a refusal naming \"admin grant\"", err)
	}
}

// A refused rotation is an audit event, so refusals have a budget: a
// token that keeps asking gets 10 refusals (each recorded), then 429 and
// nothing more in the trail.
func TestRefusedAdminRequestsAreBounded(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig(t, t.TempDir()))
	s.register("admin", seedPassword)
	s.register("pest", seedPassword)
	tok := s.login("pest", seedPassword)
	codes := map[int]int{}
	for i := 0; i < 25; i++ {
		path := "/rotate-master-key"
		if i%5 == 4 {
			path = "/admin/audit" // the same budget: refused, not recorded
		}
		method := map[string]string{"/rotate-master-key": "POST", "/admin/audit": "GET"}[path]
		r := s.do(method, path, tok, nil)
		codes[r.Status]++
		if r.Status == 429 && r.Header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	}
	if codes[403] != 10 || codes[429] != 15 {
		t.Fatalf("25 refused admin requests: %v; want 10 × 403, then 429", codes)
	}
	admin := s.login("admin", seedPassword)
	events, _ := s.auditList("/admin/audit?type=key.rotate.start", admin)
	if len(events) != 8 { // 8 of the 10 refusals were rotations
		t.Fatalf("%d refused rotations recorded, want 8", len(events))
	}
	s.do("POST", "/rotate-master-key", admin, nil).want(t, 200, "the administrator still rotates")
}
