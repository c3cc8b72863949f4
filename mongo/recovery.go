package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/strongroom/strongroom"
)

// RecoveryCodes is the collection of recovery-code hashes; _id is the hash
// (keyed by the user's id, so unique), so using a code is one delete by _id.
const RecoveryCodes = "recovery_codes"

// ReplaceRecoveryCodes replaces all of the user's recovery codes.
func (db *DB) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string) error {
	o, err := oid(userID, "user")
	if err != nil {
		return err
	}
	if _, err := db.recovery.DeleteMany(ctx, bson.D{{Key: "user_id", Value: o}}); err != nil {
		return mapErr("replace recovery codes", err)
	}
	if len(hashes) == 0 {
		return nil
	}
	docs := make([]any, len(hashes))
	for i, h := range hashes {
		docs[i] = bson.D{{Key: "_id", Value: h}, {Key: "user_id", Value: o}}
	}
	_, err = db.recovery.InsertMany(ctx, docs)
	return mapErr("replace recovery codes", err)
}

// UseRecoveryCode deletes one of the user's codes; only one caller wins.
func (db *DB) UseRecoveryCode(ctx context.Context, userID, hash string) error {
	o, err := oid(userID, "recovery code")
	if err != nil {
		return err
	}
	res, err := db.recovery.DeleteOne(ctx, bson.D{{Key: "_id", Value: hash}, {Key: "user_id", Value: o}})
	if err != nil {
		return mapErr("use recovery code", err)
	}
	if res.DeletedCount == 0 {
		return notFound("recovery code")
	}
	return nil
}

var _ strongroom.RecoveryStore = (*DB)(nil)
