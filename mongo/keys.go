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

// UserKey returns the user's wrapped data key, or KindNotFound.
func (db *DB) UserKey(ctx context.Context, userID string) (strongroom.WrappedKey, error) {
	o, err := oid(userID, "user key")
	if err != nil {
		return strongroom.WrappedKey{}, err
	}
	var d keyDoc
	err = db.keys.FindOne(ctx, bson.D{{Key: "_id", Value: o}}).Decode(&d)
	if errors.Is(err, mdb.ErrNoDocuments) {
		return strongroom.WrappedKey{}, notFound("user key")
	}
	if err != nil {
		return strongroom.WrappedKey{}, mapErr("read user key", err)
	}
	return strongroom.WrappedKey{Ciphertext: d.WrappedDEK, Version: int(d.KEKVersion)}, nil
}

func below(version int) bson.D {
	return bson.D{{Key: "kek_version", Value: bson.D{{Key: "$lt", Value: version}}}}
}

// KeysBelowVersion returns up to limit keys older than version, in the
// order of the {kek_version, _id} index, so each batch of a rotation starts
// where the keys still to do begin instead of stepping over the ones done.
func (db *DB) KeysBelowVersion(ctx context.Context, version, limit int) ([]strongroom.UserKey, error) {
	cur, err := db.keys.Find(ctx, below(version), options.Find().SetSort(asc("kek_version", "_id")).SetLimit(int64(limit)))
	if err != nil {
		return nil, mapErr("keys below version", err)
	}
	var docs []keyDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mapErr("keys below version", err)
	}
	out := make([]strongroom.UserKey, len(docs))
	for i, d := range docs {
		out[i] = strongroom.UserKey{UserID: d.UserID.Hex(), Key: strongroom.WrappedKey{Ciphertext: d.WrappedDEK, Version: int(d.KEKVersion)}}
	}
	return out, nil
}

// CountKeysBelowVersion counts keys older than version.
func (db *DB) CountKeysBelowVersion(ctx context.Context, version int) (int, error) {
	n, err := db.keys.CountDocuments(ctx, below(version))
	return int(n), mapErr("count keys", err)
}

// UpdateKeys applies a batch of rewrapped keys in one unordered bulk write;
// each update only matches a key still at its From version.
func (db *DB) UpdateKeys(ctx context.Context, updates []strongroom.KeyUpdate) (int, error) {
	if len(updates) == 0 {
		return 0, nil
	}
	now := time.Now().UTC()
	models := make([]mdb.WriteModel, 0, len(updates))
	for _, u := range updates {
		o, err := bson.ObjectIDFromHex(u.UserID)
		if err != nil {
			continue
		}
		models = append(models, mdb.NewUpdateOneModel().
			SetFilter(bson.D{{Key: "_id", Value: o}, {Key: "kek_version", Value: u.From}}).
			SetUpdate(bson.D{{Key: "$set", Value: bson.D{{Key: "wrapped_dek", Value: u.To.Ciphertext},
				{Key: "kek_version", Value: int32(u.To.Version)}, {Key: "updated_at", Value: now}}}}))
	}
	res, err := db.keys.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
	if err != nil {
		return 0, mapErr("update keys", err)
	}
	return int(res.ModifiedCount), nil
}
