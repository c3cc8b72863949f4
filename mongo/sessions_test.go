package mongo_test

import (
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/internal/testserver"
	"github.com/strongroom/strongroom/mongo"
)

// A user document from before sessions existed (no sessions_epoch, no
// deleted_at, no record counts) reads as epoch 0 and not being deleted,
// takes sessions and records, and can be deleted.
func TestUserWithoutSessionFields(t *testing.T) {
	ctx := context.Background()
	db, raw := openWithRaw(t, "legacy")
	uid := bson.NewObjectID()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	// The seed's fields only.
	if _, err := raw.Collection(mongo.Users).InsertOne(ctx, bson.D{
		{Key: "_id", Value: uid}, {Key: "username", Value: "seeded"}, {Key: "email", Value: "seeded@example.com"},
		{Key: "hashed_password", Value: "$2a$12$hash"}, {Key: "salt", Value: "00"}, {Key: "failed_attempts", Value: int32(0)},
		{Key: "last_failed_attempt_time", Value: nil}, {Key: "totp_secret", Value: nil}, {Key: "two_factor_enabled", Value: false},
		{Key: "is_admin", Value: false}, {Key: "created_at", Value: t0},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Collection(mongo.UserKeys).InsertOne(ctx, bson.D{
		{Key: "_id", Value: uid}, {Key: "wrapped_dek", Value: "sr:v1:seeded"}, {Key: "kek_version", Value: int32(1)}, {Key: "updated_at", Value: t0},
	}); err != nil {
		t.Fatal(err)
	}
	u, err := db.UserByUsername(ctx, "seeded")
	if err != nil || u.SessionsEpoch != 0 || !u.DeletedAt.IsZero() {
		t.Fatalf("a seed user reads as %+v, %v", u, err)
	}
	s := &strongroom.Session{ID: "0123456789abcdef0123456789abcdef", UserID: u.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := db.CreateSession(ctx, s, 0); err != nil {
		t.Fatalf("a session of a seed user at epoch 0: %v", err)
	}
	if err := db.CreateRecord(ctx, &strongroom.Record{ID: strongroom.NewID(t0), UserID: u.ID, DataType: "x", EncryptedValue: "01",
		CreatedAt: t0, UpdatedAt: t0}, strongroom.Quota{}); err != nil {
		t.Fatalf("a record of a seed user without record counts: %v", err)
	}
	if ended, err := db.EndSessions(ctx, u.ID, "", strongroom.EndPasswordChanged, t0); err != nil || len(ended) != 1 {
		t.Fatalf("EndSessions = %v, %v", ended, err)
	}
	if u, err := db.UserByID(ctx, u.ID); err != nil || u.SessionsEpoch != 1 {
		t.Fatalf("after EndSessions: %+v, %v; want epoch 1", u, err)
	}
	if err := db.DestroyUserKey(ctx, u.ID, t0); err != nil {
		t.Fatal(err)
	}
	if list, err := db.UsersBeingDeleted(ctx, 10); err != nil || len(list) != 1 || list[0].ID != u.ID {
		t.Fatalf("UsersBeingDeleted = %v, %v", list, err)
	}
	if n, err := db.DeleteUser(ctx, u.ID); err != nil || n != 1 {
		t.Fatalf("DeleteUser = %d, %v", n, err)
	}
}

// DestroyUserKey leaves the user's document marked even if the key is
// already gone (a call cut short after its first write is finished by the
// next), and DeleteUser deletes a key left behind by such a call.
func TestDeletionFinishesACutShortStep(t *testing.T) {
	ctx := context.Background()
	db, raw := openWithRaw(t, "cutshort")
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	u := &strongroom.User{ID: strongroom.NewID(t0), Username: "cut", Email: "cut@example.com", HashedPassword: "h", Salt: "s", CreatedAt: t0}
	if err := db.CreateUser(ctx, u, strongroom.WrappedKey{Ciphertext: "sr:v1:cut", Version: 1}, false); err != nil {
		t.Fatal(err)
	}
	// DestroyUserKey's first write only, as if the process died after it.
	uid, _ := bson.ObjectIDFromHex(u.ID)
	if _, err := raw.Collection(mongo.Users).UpdateOne(ctx, bson.D{{Key: "_id", Value: uid}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "deleted_at", Value: t0}}}, {Key: "$inc", Value: bson.D{{Key: "sessions_epoch", Value: int64(1)}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UserByID(ctx, u.ID); !strongroom.IsKind(err, strongroom.KindNotFound) {
		t.Fatalf("a user marked as being deleted is found: %v", err)
	}
	if n, err := db.DeleteUser(ctx, u.ID); err != nil || n != 0 {
		t.Fatalf("DeleteUser = %d, %v", n, err)
	}
	if n, _ := raw.Collection(mongo.UserKeys).CountDocuments(ctx, bson.D{{Key: "_id", Value: uid}}); n != 0 {
		t.Fatal("DeleteUser left the key of a cut-short DestroyUserKey")
	}
}

// openWithRaw opens the store on a fresh database of the test server, and
// the same database through the driver, to write documents as another
// program (or an older version) would; both are closed at the end.
func openWithRaw(t *testing.T, label string) (*mongo.DB, *mdb.Database) {
	t.Helper()
	ctx := context.Background()
	url, name := testserver.MongoDBURL(t), testserver.DatabaseName(label)
	db, err := mongo.Open(ctx, url, name, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	raw, err := mdb.Connect(options.Client().ApplyURI(url))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.Disconnect(context.Background()) })
	return db, raw.Database(name)
}

// Failed logins of unknown names that an earlier version (or the seed
// design) counted under the name itself are deleted when the store opens:
// a name typed at login may be a password. Counts kept under a keyed hash
// stay.
func TestNamedLoginFailuresForgotten(t *testing.T) {
	ctx := context.Background()
	db, raw := openWithRaw(t, "failures")
	now := time.Now()
	hashed := "1f10eb4ef3f8bc5a1bab6364604ddce4bf45f7ad0b5d92699dc2b0d85a5281fd"
	if err := db.ClaimUnknownLoginAttempt(ctx, hashed, now, strongroom.Lockout{MaxFailures: 5, Window: 15 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Collection(mongo.LoginFailures).InsertOne(ctx, bson.D{{Key: "_id", Value: "hunter2.secret-pw"},
		{Key: "failed_attempts", Value: int32(1)}, {Key: "last_failed_attempt_time", Value: now}}); err != nil {
		t.Fatal(err)
	}
	again, err := mongo.Open(ctx, testserver.MongoDBURL(t), raw.Name(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	var left []struct {
		Name string `bson:"_id"`
	}
	cur, err := raw.Collection(mongo.LoginFailures).Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cur.All(ctx, &left); err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0].Name != hashed {
		t.Fatalf("login_failures after a reopen: %+v, want only the count kept under a hash", left)
	}
}
