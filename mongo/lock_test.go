package mongo

import (
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/strongroom/strongroom/internal/testserver"
)

// A holder paused past its lock's lifetime (a stalled process, a long GC)
// has its lock taken over by another server; when it wakes up and lets go,
// it must not delete the new holder's lock, or a third server would get
// in beside the second. Locks are released by name and owner.
func TestLateHolderKeepsItsHandsOffTheNextLock(t *testing.T) {
	old := lockTTL
	lockTTL = time.Second
	defer func() { lockTTL = old }()
	ctx := context.Background()
	url, name := testserver.MongoDBURL(t), testserver.DatabaseName("locks")
	var servers [3]*DB
	for i := range servers {
		db, err := Open(ctx, url, name, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		servers[i] = db
	}
	const lock = "test:late-holder"
	resume, lateDone := make(chan struct{}), make(chan error, 1)
	holding := make(chan struct{})
	go func() {
		lateDone <- servers[0].withLock(ctx, lock, func() error {
			close(holding)
			<-resume // paused past the lock's lifetime
			return nil
		})
	}()
	<-holding
	time.Sleep(lockTTL + 200*time.Millisecond)

	third, thirdIn := make(chan error, 1), false
	err := servers[1].withLock(ctx, lock, func() error {
		// Taken over; now the late holder wakes up and lets go.
		close(resume)
		if err := <-lateDone; err != nil {
			return err
		}
		var doc struct {
			Owner string `bson:"owner"`
		}
		if err := servers[1].locks.FindOne(ctx, bson.D{{Key: "_id", Value: lock}}).Decode(&doc); err != nil || doc.Owner == "" {
			t.Errorf("the second holder's lock after the late holder let go: %+v, %v", doc, err)
		}
		// A third server must still wait for it.
		go func() {
			third <- servers[2].withLock(ctx, lock, func() error { return nil })
		}()
		select {
		case err := <-third:
			thirdIn = true
			t.Errorf("a third server took the lock while the second held it (%v)", err)
		case <-time.After(100 * time.Millisecond):
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !thirdIn {
		if err := <-third; err != nil {
			t.Fatalf("the third server, once the second let go: %v", err)
		}
	}
}
