package mongo

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"sync"
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
// Worse, FerretDB v1 writes the whole document back, so two updates of
// different fields of one document can undo one another too: every write
// to a user's document is therefore made under the one lock of that user
// (userLock), whatever field it changes.
const (
	Locks       = "locks"
	lockMaxWait = 5 * time.Second
)

// lockTTL is a lock's lifetime: a holder that died (or stalled past it) has
// its lock taken over after it. A variable for the tests.
var lockTTL = 10 * time.Second

// withLock runs fn holding the named lock. Callers in this process first
// queue for it in memory (db.local), so that a burst of one process's
// callers (50 parallel guesses at one account) waits in line rather than
// polling the store, which on FerretDB slows the holder down and let a
// waiter lose every race until its lockMaxWait ran out; the store lock then
// orders the one caller at the front with other processes.
func (db *DB) withLock(ctx context.Context, name string, fn func() error) error {
	release, err := db.local.lock(ctx, name)
	if err != nil {
		return mapErr("lock "+name, err)
	}
	defer release()
	// Each taking of the lock has an owner token, and the lock is given
	// up by name and owner: a holder that stalled past lockTTL, whose lock
	// another took over, must not delete the new holder's lock when it
	// wakes up.
	var b [16]byte
	_, _ = crand.Read(b[:])
	owner := hex.EncodeToString(b[:])
	deadline := time.Now().Add(lockMaxWait)
	for {
		now := time.Now()
		_, err := db.locks.InsertOne(ctx, bson.D{{Key: "_id", Value: name}, {Key: "owner", Value: owner}, {Key: "expires_at", Value: now.Add(lockTTL)}})
		if err == nil {
			defer func() {
				_, _ = db.locks.DeleteOne(context.WithoutCancel(ctx), bson.D{{Key: "_id", Value: name}, {Key: "owner", Value: owner}})
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

// keyedLocks are in-process locks by name, each held by one caller at a
// time; waiting gives up when the caller's context ends. Entries live only
// while someone holds or waits for them.
type keyedLocks struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	ch   chan struct{} // holds a token while the lock is held
	refs int
}

// lock takes the named lock and returns its release.
func (k *keyedLocks) lock(ctx context.Context, name string) (func(), error) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedLock{}
	}
	l := k.locks[name]
	if l == nil {
		l = &keyedLock{ch: make(chan struct{}, 1)}
		k.locks[name] = l
	}
	l.refs++
	k.mu.Unlock()
	done := func() {
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.locks, name)
		}
		k.mu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; done() }, nil
	case <-ctx.Done():
		done()
		return nil, ctx.Err()
	}
}
