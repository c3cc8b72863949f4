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

// owned is the filter for one record of one user.
func owned(userID, id string) (bson.D, error) {
	u, err := oid(userID, "record")
	if err != nil {
		return nil, err
	}
	r, err := oid(id, "record")
	if err != nil {
		return nil, err
	}
	return bson.D{{Key: "_id", Value: r}, {Key: "user_id", Value: u}}, nil
}

// CreateRecord inserts an encrypted record.
func (db *DB) CreateRecord(ctx context.Context, r *strongroom.Record) error {
	id, err1 := bson.ObjectIDFromHex(r.ID)
	uid, err2 := bson.ObjectIDFromHex(r.UserID)
	if err := errors.Join(err1, err2); err != nil {
		return strongroom.Internal("mongo: create record", err)
	}
	_, err := db.data.InsertOne(ctx, recordDoc{ID: id, UserID: uid, DataType: r.DataType, EncryptedValue: r.EncryptedValue,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt})
	return mapErr("create record", err)
}

// Record returns one of the user's records, or KindNotFound.
func (db *DB) Record(ctx context.Context, userID, id string) (*strongroom.Record, error) {
	f, err := owned(userID, id)
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

// Records returns the user's records, oldest first.
func (db *DB) Records(ctx context.Context, userID string) ([]*strongroom.Record, error) {
	u, err := oid(userID, "user")
	if err != nil {
		return []*strongroom.Record{}, nil
	}
	cur, err := db.data.Find(ctx, bson.D{{Key: "user_id", Value: u}},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, mapErr("list records", err)
	}
	var docs []recordDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mapErr("list records", err)
	}
	out := make([]*strongroom.Record, len(docs))
	for i := range docs {
		out[i] = docs[i].record()
	}
	return out, nil
}

// UpdateRecord replaces the data_type and encrypted value of a record.
func (db *DB) UpdateRecord(ctx context.Context, r *strongroom.Record) error {
	f, err := owned(r.UserID, r.ID)
	if err != nil {
		return err
	}
	res, err := db.data.UpdateOne(ctx, f, bson.D{{Key: "$set", Value: bson.D{
		{Key: "data_type", Value: r.DataType}, {Key: "encrypted_value", Value: r.EncryptedValue}, {Key: "updated_at", Value: r.UpdatedAt}}}})
	if err != nil {
		return mapErr("update record", err)
	}
	if res.MatchedCount == 0 {
		return notFound("record")
	}
	return nil
}

// DeleteRecord deletes one of the user's records.
func (db *DB) DeleteRecord(ctx context.Context, userID, id string) error {
	f, err := owned(userID, id)
	if err != nil {
		return err
	}
	res, err := db.data.DeleteOne(ctx, f)
	if err != nil {
		return mapErr("delete record", err)
	}
	if res.DeletedCount == 0 {
		return notFound("record")
	}
	return nil
}
