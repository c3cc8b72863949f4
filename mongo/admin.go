package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// SetAdmin sets the account's is_admin field; KindNotFound if no account
// has that username.
func (db *DB) SetAdmin(ctx context.Context, username string, admin bool) error {
	res, err := db.users.UpdateOne(ctx, bson.D{{Key: "username", Value: username}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "is_admin", Value: admin}}}})
	if err != nil {
		return mapErr("set admin", err)
	}
	if res.MatchedCount == 0 {
		return notFound("user")
	}
	return nil
}
