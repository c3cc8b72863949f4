package mongo

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/strongroom/strongroom"
)

// limitDoc is a rate-limit budget: full is when it is full again, in Unix
// nanoseconds.
type limitDoc struct {
	Key  string `bson:"_id"`
	Full int64  `bson:"full"`
}

// TakeLimit applies strongroom.Rate.Take to the budget under its lock (a
// conditional update alone is not atomic on FerretDB, see lock.go), so
// parallel takers on any number of servers never exceed it.
func (db *DB) TakeLimit(ctx context.Context, key string, r strongroom.Rate, n int, now time.Time) (bool, time.Time, error) {
	if db.limitsPurge.Due(now, time.Minute) {
		if _, err := db.limits.DeleteMany(ctx, bson.D{{Key: "full", Value: bson.D{{Key: "$lt", Value: now.UnixNano()}}}}); err != nil {
			return false, time.Time{}, mapErr("purge rate limits", err)
		}
	}
	var ok bool
	var full time.Time
	err := db.withLock(ctx, "limit:"+key, func() error {
		var d limitDoc
		err := db.limits.FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&d)
		if err != nil && !errors.Is(err, mdb.ErrNoDocuments) {
			return mapErr("take rate limit", err)
		}
		if full, ok, _ = r.Take(time.Unix(0, d.Full), now, n); !ok {
			return nil
		}
		_, err = db.limits.UpdateOne(ctx, bson.D{{Key: "_id", Value: key}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "full", Value: full.UnixNano()}}}}, options.UpdateOne().SetUpsert(true))
		return mapErr("take rate limit", err)
	})
	return ok, full, err
}
