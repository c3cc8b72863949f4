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

// Quotas. Each user's record count and stored bytes are kept in a document
// of record_usage, and every write to the user's records (create, update,
// delete) runs under the user's lock (lock.go): read the count, check the
// quota, write. A conditional update alone would not do, since FerretDB v1
// applies one in two steps. Without transactions the count and the record
// are two writes, so they are ordered to fail safe: whatever grows is
// counted before it is written, whatever shrinks after. An interrupted
// write can only leave the count too high, which refuses early but never
// lets a user past the quota; a refusal recounts from sensitive_data (at
// most once a minute per user) before it is final, which repairs that.

// Usage is the collection of per-user record counts: _id is the user's
// ObjectId, then records, bytes (the summed length of encrypted_value) and
// counted_at (when it was last recounted from sensitive_data).
const Usage = "record_usage"

// recountEvery bounds how often a refusal recounts a user's records.
const recountEvery = time.Minute

type usageDoc struct {
	ID        bson.ObjectID `bson:"_id"`
	Records   int64         `bson:"records"`
	Bytes     int64         `bson:"bytes"`
	CountedAt time.Time     `bson:"counted_at"`
}

func (d usageDoc) usage() strongroom.Usage {
	return strongroom.Usage{Records: d.Records, Bytes: d.Bytes}
}

// withUserLock runs fn holding the lock on the user's records.
func (db *DB) withUserLock(ctx context.Context, uid bson.ObjectID, fn func() error) error {
	return db.withLock(ctx, "records:"+uid.Hex(), fn)
}

// userUsage returns the user's counts; with none stored yet (records made
// before quotas existed, or a user whose deletion began), it counts them,
// and stores the count if save. Before it stores a new count it checks
// that the user exists and is not being deleted (KindNotFound otherwise):
// DestroyUserKey and DeleteUser delete the counts under the lock on the
// user's records, so no record can be added for such a user afterwards.
func (db *DB) userUsage(ctx context.Context, uid bson.ObjectID, save bool) (usageDoc, error) {
	var d usageDoc
	err := db.usage.FindOne(ctx, bson.D{{Key: "_id", Value: uid}}).Decode(&d)
	if errors.Is(err, mdb.ErrNoDocuments) {
		if save {
			err := db.users.FindOne(ctx, bson.D{{Key: "_id", Value: uid}, notDeleted},
				options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
			if errors.Is(err, mdb.ErrNoDocuments) {
				return d, notFound("user")
			}
			if err != nil {
				return d, mapErr("read user", err)
			}
		}
		return db.recount(ctx, uid, save)
	}
	return d, mapErr("read record usage", err)
}

// recount counts the user's records from sensitive_data, reading only
// their encrypted values' lengths, and stores the count if save (which
// needs the user's lock).
func (db *DB) recount(ctx context.Context, uid bson.ObjectID, save bool) (usageDoc, error) {
	d := usageDoc{ID: uid, CountedAt: time.Now().UTC()}
	cur, err := db.data.Find(ctx, bson.D{{Key: "user_id", Value: uid}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 0}, {Key: "encrypted_value", Value: 1}}).SetBatchSize(500))
	if err != nil {
		return d, mapErr("count records", err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	for cur.Next(ctx) {
		var v struct {
			EncryptedValue string `bson:"encrypted_value"`
		}
		if err := cur.Decode(&v); err != nil {
			return d, mapErr("count records", err)
		}
		d.Records++
		d.Bytes += int64(len(v.EncryptedValue))
	}
	if err := cur.Err(); err != nil {
		return d, mapErr("count records", err)
	}
	if save {
		_, err = db.usage.ReplaceOne(ctx, bson.D{{Key: "_id", Value: uid}}, d, options.Replace().SetUpsert(true))
	}
	return d, mapErr("save record usage", err)
}

// admit checks that records and bytes more fit the user's quota; holding
// the user's lock.
func (db *DB) admit(ctx context.Context, uid bson.ObjectID, q strongroom.Quota, records, bytes int64) error {
	if q == (strongroom.Quota{}) {
		return nil
	}
	d, err := db.userUsage(ctx, uid, true)
	if err != nil {
		return err
	}
	qerr := q.Check(d.usage(), records, bytes)
	if qerr == nil || time.Since(d.CountedAt) < recountEvery {
		return qerr
	}
	if d, err = db.recount(ctx, uid, true); err != nil {
		return err
	}
	return q.Check(d.usage(), records, bytes)
}

// addUsage changes the user's counts by records and bytes, holding the
// lock on the user's records. A user without counts is counted first when they grow (see
// userUsage: a user that is gone or being deleted is refused then); when
// they shrink there is nothing to change, as the next count sees it.
func (db *DB) addUsage(ctx context.Context, uid bson.ObjectID, records, bytes int64) error {
	inc := bson.D{{Key: "$inc", Value: bson.D{{Key: "records", Value: records}, {Key: "bytes", Value: bytes}}}}
	res, err := db.usage.UpdateOne(ctx, bson.D{{Key: "_id", Value: uid}}, inc)
	if err != nil || res.MatchedCount > 0 || (records <= 0 && bytes <= 0) {
		return mapErr("update record usage", err)
	}
	if _, err := db.userUsage(ctx, uid, true); err != nil {
		return err
	}
	_, err = db.usage.UpdateOne(ctx, bson.D{{Key: "_id", Value: uid}}, inc)
	return mapErr("update record usage", err)
}

// undoable reports whether a failed write surely did not happen, so its
// count can be taken back; after a timeout or a lost connection it may
// have, and the count stays (too high, which is the safe side).
func undoable(ctx context.Context, err error) bool {
	return ctx.Err() == nil && !mdb.IsTimeout(err) && !mdb.IsNetworkError(err) &&
		!errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled)
}

// CreateRecord inserts an encrypted record if it fits the user's quota.
func (db *DB) CreateRecord(ctx context.Context, r *strongroom.Record, q strongroom.Quota) error {
	id, err1 := bson.ObjectIDFromHex(r.ID)
	uid, err2 := bson.ObjectIDFromHex(r.UserID)
	if err := errors.Join(err1, err2); err != nil {
		return strongroom.Internal("mongo: create record", err)
	}
	size := int64(len(r.EncryptedValue))
	return db.withUserLock(ctx, uid, func() error {
		if err := db.admit(ctx, uid, q, 1, size); err != nil {
			return err
		}
		if err := db.addUsage(ctx, uid, 1, size); err != nil {
			return err
		}
		_, err := db.data.InsertOne(ctx, recordDoc{ID: id, UserID: uid, DataType: r.DataType, EncryptedValue: r.EncryptedValue,
			CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt})
		if err != nil && undoable(ctx, err) {
			_ = db.addUsage(context.WithoutCancel(ctx), uid, -1, -size)
		}
		return mapErr("create record", err)
	})
}

// RecordUsage returns the user's record count and stored bytes.
func (db *DB) RecordUsage(ctx context.Context, userID string) (strongroom.Usage, error) {
	uid, err := oid(userID, "user")
	if err != nil {
		return strongroom.Usage{}, nil
	}
	d, err := db.userUsage(ctx, uid, false)
	return d.usage(), err
}

// UpdateRecord replaces the data_type and encrypted value of a record, if
// the new value fits the user's byte quota.
func (db *DB) UpdateRecord(ctx context.Context, r *strongroom.Record, q strongroom.Quota) error {
	f, err := owned(r.UserID, r.ID, "record")
	if err != nil {
		return err
	}
	uid := f[1].Value.(bson.ObjectID)
	return db.withUserLock(ctx, uid, func() error {
		var old struct {
			EncryptedValue string `bson:"encrypted_value"`
		}
		err := db.data.FindOne(ctx, f, options.FindOne().SetProjection(bson.D{{Key: "encrypted_value", Value: 1}})).Decode(&old)
		if errors.Is(err, mdb.ErrNoDocuments) {
			return notFound("record")
		}
		if err != nil {
			return mapErr("update record", err)
		}
		delta := int64(len(r.EncryptedValue) - len(old.EncryptedValue))
		if delta > 0 {
			if err := db.admit(ctx, uid, q, 0, delta); err != nil {
				return err
			}
			if err := db.addUsage(ctx, uid, 0, delta); err != nil {
				return err
			}
		}
		res, err := db.data.UpdateOne(ctx, f, bson.D{{Key: "$set", Value: bson.D{
			{Key: "data_type", Value: r.DataType}, {Key: "encrypted_value", Value: r.EncryptedValue}, {Key: "updated_at", Value: r.UpdatedAt}}}})
		switch {
		case err != nil:
			if delta > 0 && undoable(ctx, err) {
				_ = db.addUsage(context.WithoutCancel(ctx), uid, 0, -delta)
			}
			return mapErr("update record", err)
		case res.MatchedCount == 0:
			return notFound("record")
		case delta < 0:
			return db.addUsage(ctx, uid, 0, delta)
		}
		return nil
	})
}

// DeleteRecord deletes one of the user's records.
func (db *DB) DeleteRecord(ctx context.Context, userID, id string) error {
	f, err := owned(userID, id, "record")
	if err != nil {
		return err
	}
	uid := f[1].Value.(bson.ObjectID)
	return db.withUserLock(ctx, uid, func() error {
		var old struct {
			EncryptedValue string `bson:"encrypted_value"`
		}
		// No projection: FerretDB v1's findAndModify has none.
		err := db.data.FindOneAndDelete(ctx, f).Decode(&old)
		if errors.Is(err, mdb.ErrNoDocuments) {
			return notFound("record")
		}
		if err != nil {
			return mapErr("delete record", err)
		}
		return db.addUsage(ctx, uid, -1, -int64(len(old.EncryptedValue)))
	})
}
