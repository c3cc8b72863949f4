package mongo_test

import (
	"context"
	"os"
	"reflect"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/internal/testserver"
	"github.com/strongroom/strongroom/mongo"
	"github.com/strongroom/strongroom/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testserver.StopMongoDB()
	os.Exit(code)
}

func open(t *testing.T) strongroom.Store {
	t.Helper()
	db, err := mongo.Open(context.Background(), testserver.MongoDBURL(t), testserver.DatabaseName("conformance"), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) { storetest.Run(t, open) }

// An unreachable server is KindUnavailable within the operation timeout,
// never a hang.
func TestUnreachableIsUnavailable(t *testing.T) {
	bin, err := testserver.Build("ferretdb")
	if err != nil {
		t.Fatal(err)
	}
	p, err := testserver.Start(bin, "-listen", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := mongo.Open(ctx, p.Ready, testserver.DatabaseName("outage"), 1*time.Second, nil)
	if err != nil {
		p.Stop()
		t.Fatal(err)
	}
	defer db.Close()
	u := storetest.MustCreateUser(t, db, "outage")
	p.Stop() // the server goes away
	start := time.Now()
	_, err = db.UserByID(ctx, u.ID)
	if !strongroom.IsKind(err, strongroom.KindUnavailable) {
		t.Fatalf("read with the server down: %v, want unavailable", err)
	}
	if err := db.Ping(ctx); !strongroom.IsKind(err, strongroom.KindUnavailable) {
		t.Fatalf("ping with the server down: %v", err)
	}
	// Not a timing target: a hang would last until the test's own timeout.
	if waited := time.Since(start); waited > 30*time.Second {
		t.Fatalf("the store waited %v for a dead server", waited)
	}
}

// TestRateLimitFormat pins a budget's stored form: _id the limit's name
// and key, full the time it is full again in Unix nanoseconds (int64).
func TestRateLimitFormat(t *testing.T) {
	ctx := context.Background()
	url, name := testserver.MongoDBURL(t), testserver.DatabaseName("ratelimit")
	db, err := mongo.Open(ctx, url, name, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	at := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	if ok, _, err := db.TakeLimit(ctx, "verify-addr:192.0.2.1", strongroom.Rate{Every: 2 * time.Second, Burst: 30}, 1, at); err != nil || !ok {
		t.Fatalf("TakeLimit: %v %v", ok, err)
	}
	client, err := mdb.Connect(options.Client().ApplyURI(url))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	var doc bson.D
	if err := client.Database(name).Collection(mongo.RateLimits).FindOne(ctx, bson.D{}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	want := bson.D{{Key: "_id", Value: "verify-addr:192.0.2.1"}, {Key: "full", Value: int64(1795834802000000000)}}
	if !reflect.DeepEqual(doc, want) {
		t.Fatalf("stored %v, want %v", doc, want)
	}
}

// TestPasskeyFormat pins a passkey's stored form: public material only, as
// binary; times as dates; last_used_at null until a sign-in.
func TestPasskeyFormat(t *testing.T) {
	ctx := context.Background()
	url, name := testserver.MongoDBURL(t), testserver.DatabaseName("passkey")
	db, err := mongo.Open(ctx, url, name, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u := storetest.MustCreateUser(t, db, "alice")
	at := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	p := storetest.NewPasskey(u, "laptop", at)
	p.ID = "6927f4f0c1a2b3c4d5e6f701"
	if err := db.AddPasskey(ctx, p, strongroom.MaxPasskeys); err != nil {
		t.Fatal(err)
	}
	client, err := mdb.Connect(options.Client().ApplyURI(url))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	var doc bson.D
	if err := client.Database(name).Collection(mongo.Passkeys).FindOne(ctx, bson.D{}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	id, _ := bson.ObjectIDFromHex(p.ID)
	uid, _ := bson.ObjectIDFromHex(u.ID)
	bin := func(b []byte) bson.Binary { return bson.Binary{Subtype: 0, Data: b} }
	want := bson.D{
		{Key: "_id", Value: id}, {Key: "user_id", Value: uid}, {Key: "credential_id", Value: bin([]byte("cred-laptop"))},
		{Key: "name", Value: "laptop"}, {Key: "public_key", Value: bin([]byte{0xa5, 0x01, 0x02})}, {Key: "aaguid", Value: bin(make([]byte, 16))},
		{Key: "sign_count", Value: int64(7)}, {Key: "backup_eligible", Value: true}, {Key: "backup_state", Value: false},
		{Key: "transports", Value: bson.A{"internal", "hybrid"}}, {Key: "created_at", Value: bson.NewDateTimeFromTime(at)},
		{Key: "last_used_at", Value: nil},
	}
	if !reflect.DeepEqual(doc, want) {
		t.Fatalf("stored %v\nwant   %v", doc, want)
	}
}
