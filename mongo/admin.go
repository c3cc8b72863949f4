package mongo

import (
	"context"
	"errors"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// SetAdmin sets the account's is_admin field; KindNotFound if no account
// has that username. The write is made under the user's lock, as every
// write to a user's document is (updateUser), so it needs the id first.
func (db *DB) SetAdmin(ctx context.Context, username string, admin bool) error {
	var d struct {
		ID bson.ObjectID `bson:"_id"`
	}
	err := db.users.FindOne(ctx, bson.D{{Key: "username", Value: username}}, options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Decode(&d)
	if errors.Is(err, mdb.ErrNoDocuments) {
		return notFound("user")
	}
	if err != nil {
		return mapErr("set admin", err)
	}
	res, err := db.updateUser(ctx, bson.D{{Key: "_id", Value: d.ID}, {Key: "username", Value: username}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "is_admin", Value: admin}}}})
	if err != nil {
		return mapErr("set admin", err)
	}
	if res.MatchedCount == 0 {
		return notFound("user")
	}
	return nil
}
