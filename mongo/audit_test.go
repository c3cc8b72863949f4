package mongo_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/audit"
	"github.com/strongroom/strongroom/internal/testserver"
	"github.com/strongroom/strongroom/mongo"
	"github.com/strongroom/strongroom/storetest"
)

// openAudit opens a new database twice, as two servers would, and once
// more around the store, with the driver, for the tamper tests.
func openAudit(t *testing.T) storetest.AuditDB {
	t.Helper()
	ctx := context.Background()
	url, name := testserver.MongoDBURL(t), testserver.DatabaseName("conformance")
	var handles [2]*mongo.DB
	for i := range handles {
		db, err := mongo.Open(ctx, url, name, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		handles[i] = db
	}
	client, err := mdb.Connect(options.Client().ApplyURI(url))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Disconnect(context.Background()) })
	return storetest.AuditDB{Store: handles[0], Second: handles[1], Raw: driverRaw{client.Database(name)}}
}

func TestAuditConformance(t *testing.T) { storetest.RunAudit(t, openAudit) }

// driverRaw edits the audit collections with the driver.
type driverRaw struct{ db *mdb.Database }

func (r driverRaw) PutAuditEvent(ctx context.Context, e *strongroom.AuditEvent) error {
	doc := bson.D{{Key: "_id", Value: e.Seq}, {Key: "time", Value: e.Time}, {Key: "type", Value: e.Type}, {Key: "outcome", Value: e.Outcome},
		{Key: "user_id", Value: e.UserID}, {Key: "target", Value: e.Target}, {Key: "client", Value: e.Client},
		{Key: "request_id", Value: e.RequestID}, {Key: "prev", Value: e.Prev}, {Key: "hash", Value: e.Hash}}
	_, err := r.db.Collection(mongo.AuditEvents).ReplaceOne(ctx, bson.D{{Key: "_id", Value: e.Seq}}, doc, options.Replace().SetUpsert(true))
	return err
}

func (r driverRaw) DeleteAuditEvent(ctx context.Context, seq int64) error {
	_, err := r.db.Collection(mongo.AuditEvents).DeleteOne(ctx, bson.D{{Key: "_id", Value: seq}})
	return err
}

// SetAuditHead leaves h as the only head mark.
func (r driverRaw) SetAuditHead(ctx context.Context, h strongroom.AuditHead) error {
	heads := r.db.Collection(mongo.AuditHeads)
	if _, err := heads.DeleteMany(ctx, bson.D{}); err != nil {
		return err
	}
	_, err := heads.InsertOne(ctx, bson.D{{Key: "_id", Value: h.Seq}, {Key: "hash", Value: h.Hash}})
	return err
}

// An append that loses the race for a seq in the middle of its batch
// (another server took it after the first events went in) keeps the
// events inserted before it and chains the rest after the other's.
func TestAuditAppendLosesRaceMidBatch(t *testing.T) {
	ctx := context.Background()
	db := openAudit(t)
	key := bytes.Repeat([]byte{7}, 32)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	mine := make([]*strongroom.AuditEvent, 4)
	for i := range mine {
		mine[i] = &strongroom.AuditEvent{Time: at, Type: "record.read", Outcome: "success", Target: fmt.Sprint("mine-", i)}
	}
	var theirs *strongroom.AuditEvent
	link := func(e *strongroom.AuditEvent) []byte {
		if e.Seq == 2 && theirs == nil {
			// Another server appends seq 2 after reading seq 1 of this
			// batch, before this batch's insert gets there.
			theirs = &strongroom.AuditEvent{Seq: 2, Time: at, Type: "login.success", Outcome: "success", Target: "theirs", Prev: e.Prev}
			theirs.Hash = audit.Hash(key, theirs)
			if err := db.Raw.PutAuditEvent(ctx, theirs); err != nil {
				t.Fatal(err)
			}
		}
		return audit.Hash(key, e)
	}
	if err := db.Store.AppendAudit(ctx, mine, link); err != nil {
		t.Fatal(err)
	}
	list, err := db.Store.AuditChain(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range list {
		got = append(got, fmt.Sprint(e.Seq, ":", e.Target))
	}
	if want := "[1:mine-0 2:theirs 3:mine-1 4:mine-2 5:mine-3]"; fmt.Sprint(got) != want {
		t.Fatalf("chain %v, want %s", got, want)
	}
	if mine[3].Seq != 5 {
		t.Fatalf("the last event was given seq %d, want 5", mine[3].Seq)
	}
	if sum, err := audit.Verify(ctx, db.Second, key, audit.VerifyOptions{}); err != nil || sum.Head.Seq != 5 {
		t.Fatalf("Verify = %+v, %v", sum, err)
	}
}
