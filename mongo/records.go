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

// recordDoc is a document of the seed's sensitive_data collection.
type recordDoc struct {
	ID             bson.ObjectID `bson:"_id"`
	UserID         bson.ObjectID `bson:"user_id"`
	DataType       string        `bson:"data_type"`
	EncryptedValue string        `bson:"encrypted_value"`
	CreatedAt      time.Time     `bson:"created_at"`
	UpdatedAt      time.Time     `bson:"updated_at"`
}

func (d *recordDoc) record() *strongroom.Record {
	return &strongroom.Record{ID: d.ID.Hex(), UserID: d.UserID.Hex(), DataType: d.DataType, EncryptedValue: d.EncryptedValue,
		CreatedAt: utc(d.CreatedAt), UpdatedAt: utc(d.UpdatedAt)}
}

// owned is the filter for one thing (a record, a passkey: what) of one
// user; ids that cannot exist are not found.
func owned(userID, id, what string) (bson.D, error) {
	u, err := oid(userID, what)
	if err != nil {
		return nil, err
	}
	r, err := oid(id, what)
	if err != nil {
		return nil, err
	}
	return bson.D{{Key: "_id", Value: r}, {Key: "user_id", Value: u}}, nil
}

// Record returns one of the user's records, or KindNotFound.
func (db *DB) Record(ctx context.Context, userID, id string) (*strongroom.Record, error) {
	f, err := owned(userID, id, "record")
	if err != nil {
		return nil, err
	}
	var d recordDoc
	err = db.data.FindOne(ctx, f).Decode(&d)
	if errors.Is(err, mdb.ErrNoDocuments) {
		return nil, notFound("record")
	}
	if err != nil {
		return nil, mapErr("read record", err)
	}
	return d.record(), nil
}

// Records returns up to limit of the user's records after the cursor, in
// list order. The cursor is read in batches of at most 100 documents, so a
// page of large values is not one 16 MiB reply.
func (db *DB) Records(ctx context.Context, userID string, after strongroom.RecordCursor, limit int) ([]*strongroom.Record, error) {
	f, err := pageFilter(userID, after)
	if err != nil {
		return []*strongroom.Record{}, nil
	}
	cur, err := db.data.Find(ctx, f, options.Find().SetSort(asc("created_at", "_id")).SetLimit(int64(limit)).SetBatchSize(int32(min(limit, 100))))
	if err != nil {
		return nil, mapErr("list records", err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	out := make([]*strongroom.Record, 0, min(limit, 256))
	for cur.Next(ctx) {
		var d recordDoc
		if err := cur.Decode(&d); err != nil {
			return nil, mapErr("list records", err)
		}
		out = append(out, d.record())
	}
	return out, mapErr("list records", cur.Err())
}

// RecordCursors returns the places of up to limit of the user's records
// after the cursor, in list order, without their values.
func (db *DB) RecordCursors(ctx context.Context, userID string, after strongroom.RecordCursor, limit int) ([]strongroom.RecordCursor, error) {
	f, err := pageFilter(userID, after)
	if err != nil {
		return []strongroom.RecordCursor{}, nil
	}
	cur, err := db.data.Find(ctx, f, options.Find().SetSort(asc("created_at", "_id")).SetLimit(int64(limit)).
		SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "created_at", Value: 1}}))
	if err != nil {
		return nil, mapErr("list records", err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	out := make([]strongroom.RecordCursor, 0, min(limit, 1024))
	for cur.Next(ctx) {
		var d struct {
			ID        bson.ObjectID `bson:"_id"`
			CreatedAt time.Time     `bson:"created_at"`
		}
		if err := cur.Decode(&d); err != nil {
			return nil, mapErr("list records", err)
		}
		out = append(out, strongroom.RecordCursor{ID: d.ID.Hex(), CreatedAt: utc(d.CreatedAt)})
	}
	return out, mapErr("list records", cur.Err())
}

// pageFilter selects the user's records after the cursor in the order of
// the {user_id, created_at, _id} index. A malformed id matches nothing.
func pageFilter(userID string, after strongroom.RecordCursor) (bson.D, error) {
	u, err := oid(userID, "user")
	if err != nil {
		return nil, err
	}
	f := bson.D{{Key: "user_id", Value: u}}
	if after.IsZero() {
		return f, nil
	}
	id, err := oid(after.ID, "record")
	if err != nil {
		return nil, err
	}
	return append(f, bson.E{Key: "$or", Value: bson.A{
		bson.D{{Key: "created_at", Value: bson.D{{Key: "$gt", Value: after.CreatedAt}}}},
		bson.D{{Key: "created_at", Value: after.CreatedAt}, {Key: "_id", Value: bson.D{{Key: "$gt", Value: id}}}},
	}}), nil
}
