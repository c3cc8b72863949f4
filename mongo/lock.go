package mongo

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/strongroom/strongroom"
)

// Locks serialise the few read-modify-write steps that must not race
// (lockout counts, code attempts, the rotation lease) using only an insert
// of a unique _id, the one operation every MongoDB-protocol server performs
// atomically. A single conditional update is atomic on MongoDB itself, but
// FerretDB v1 evaluates the filter and writes the document in two steps, so
// parallel updates can lose counts there; the lock makes both servers safe.
const (
	Locks       = "locks"
	lockTTL     = 10 * time.Second // a crashed holder's lock is taken over after this
	lockMaxWait = 5 * time.Second
)

// withLock runs fn holding the named lock.
func (db *DB) withLock(ctx context.Context, name string, fn func() error) error {
	deadline := time.Now().Add(lockMaxWait)
	for {
		now := time.Now()
		_, err := db.locks.InsertOne(ctx, bson.D{{Key: "_id", Value: name}, {Key: "expires_at", Value: now.Add(lockTTL)}})
		if err == nil {
			defer func() {
				_, _ = db.locks.DeleteOne(context.WithoutCancel(ctx), bson.D{{Key: "_id", Value: name}})
			}()
			return fn()
		}
		if !mdb.IsDuplicateKeyError(err) {
			return mapErr("lock "+name, err)
		}
		// Held. Take over a lock whose holder died; otherwise wait a little.
		if _, err := db.locks.DeleteOne(ctx, bson.D{{Key: "_id", Value: name}, {Key: "expires_at", Value: bson.D{{Key: "$lte", Value: now}}}}); err != nil {
			return mapErr("lock "+name, err)
		}
		if now.After(deadline) {
			return strongroom.Unavailable("store busy; try again", errors.New("mongo: lock "+name+": wait timed out"))
		}
		select {
		case <-ctx.Done():
			return mapErr("lock "+name, ctx.Err())
		case <-time.After(time.Duration(500+rand.IntN(2000)) * time.Microsecond):
		}
	}
}
