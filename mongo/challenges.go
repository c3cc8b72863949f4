package mongo

import (
	"context"
	"errors"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/strongroom/strongroom"
)

// challengeDoc is a pending one-time code. Its _id is "<user id>:<purpose>",
// so replacing a user's challenge is one atomic upsert; challenge_id names
// this particular code.
type challengeDoc struct {
	Key         string        `bson:"_id"`
	ChallengeID string        `bson:"challenge_id"`
	UserID      bson.ObjectID `bson:"user_id"`
	Purpose     string        `bson:"purpose"`
	CodeHash    string        `bson:"code_hash"`
	// LookupHash is unique: a challenge without one gets "none:" and its id.
	LookupHash string    `bson:"lookup_hash"`
	Attempts   int32     `bson:"attempts"`
	CreatedAt  time.Time `bson:"created_at"`
	ExpiresAt  time.Time `bson:"expires_at"`
}

// PutChallenge replaces the user's challenge of that purpose, and deletes
// expired challenges (the TTL index does it too, where the server has one).
func (db *DB) PutChallenge(ctx context.Context, c *strongroom.Challenge) error {
	uid, err := bson.ObjectIDFromHex(c.UserID)
	if err != nil {
		return strongroom.Internal("mongo: put challenge", err)
	}
	if _, err := db.challenges.DeleteMany(ctx, bson.D{{Key: "expires_at", Value: bson.D{{Key: "$lte", Value: c.CreatedAt}}}}); err != nil {
		return mapErr("put challenge", err)
	}
	doc := challengeDoc{Key: c.UserID + ":" + string(c.Purpose), ChallengeID: c.ID, UserID: uid, Purpose: string(c.Purpose),
		CodeHash: c.CodeHash, LookupHash: c.LookupHash, Attempts: int32(c.Attempts), CreatedAt: c.CreatedAt, ExpiresAt: c.ExpiresAt}
	if doc.LookupHash == "" {
		doc.LookupHash = noLookup + c.ID
	}
	_, err = db.challenges.ReplaceOne(ctx, bson.D{{Key: "_id", Value: doc.Key}}, doc, options.Replace().SetUpsert(true))
	return mapErr("put challenge", err)
}

// noLookup prefixes the lookup_hash of a challenge that has none (a hex
// hash never starts with it).
const noLookup = "none:"

func (db *DB) findChallenge(ctx context.Context, filter bson.D) (*strongroom.Challenge, error) {
	var d challengeDoc
	err := db.challenges.FindOne(ctx, filter).Decode(&d)
	if errors.Is(err, mdb.ErrNoDocuments) {
		return nil, notFound("challenge")
	}
	if err != nil {
		return nil, mapErr("read challenge", err)
	}
	c := &strongroom.Challenge{ID: d.ChallengeID, UserID: d.UserID.Hex(), Purpose: strongroom.Purpose(d.Purpose), CodeHash: d.CodeHash,
		LookupHash: d.LookupHash, Attempts: int(d.Attempts), CreatedAt: utc(d.CreatedAt), ExpiresAt: utc(d.ExpiresAt)}
	if strings.HasPrefix(c.LookupHash, noLookup) {
		c.LookupHash = ""
	}
	return c, nil
}

// Challenge returns the user's live challenge of that purpose.
func (db *DB) Challenge(ctx context.Context, userID string, purpose strongroom.Purpose, now time.Time) (*strongroom.Challenge, error) {
	return db.findChallenge(ctx, bson.D{{Key: "_id", Value: userID + ":" + string(purpose)},
		{Key: "expires_at", Value: bson.D{{Key: "$gt", Value: now}}}})
}

// ChallengeByLookup returns the live challenge with that lookup hash.
func (db *DB) ChallengeByLookup(ctx context.Context, lookupHash string, now time.Time) (*strongroom.Challenge, error) {
	if lookupHash == "" || strings.HasPrefix(lookupHash, noLookup) {
		return nil, notFound("challenge")
	}
	return db.findChallenge(ctx, bson.D{{Key: "lookup_hash", Value: lookupHash},
		{Key: "expires_at", Value: bson.D{{Key: "$gt", Value: now}}}})
}

// SetChallengeCode replaces the code hash of a challenge that still
// exists, under the challenge's lock (the one its tries are counted under).
func (db *DB) SetChallengeCode(ctx context.Context, id, codeHash string) error {
	return db.withLock(ctx, "challenge:"+id, func() error {
		res, err := db.challenges.UpdateOne(ctx, bson.D{{Key: "challenge_id", Value: id}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "code_hash", Value: codeHash}}}})
		if err != nil {
			return mapErr("set challenge code", err)
		}
		if res.MatchedCount == 0 {
			return notFound("challenge")
		}
		return nil
	})
}

// ClaimChallengeAttempt counts one try, only while the challenge is live
// and has tries left, under the challenge's lock.
func (db *DB) ClaimChallengeAttempt(ctx context.Context, id string, now time.Time, max int) error {
	return db.withLock(ctx, "challenge:"+id, func() error {
		var d challengeDoc
		err := db.challenges.FindOne(ctx, bson.D{{Key: "challenge_id", Value: id}}).Decode(&d)
		if errors.Is(err, mdb.ErrNoDocuments) || (err == nil && (int(d.Attempts) >= max || !d.ExpiresAt.After(now))) {
			return notFound("challenge")
		}
		if err != nil {
			return mapErr("claim challenge attempt", err)
		}
		res, err := db.challenges.UpdateOne(ctx, bson.D{{Key: "challenge_id", Value: id}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "attempts", Value: d.Attempts + 1}}}})
		if err != nil {
			return mapErr("claim challenge attempt", err)
		}
		if res.MatchedCount == 0 { // consumed meanwhile
			return notFound("challenge")
		}
		return nil
	})
}

// ConsumeChallenge deletes the challenge; only one caller succeeds.
func (db *DB) ConsumeChallenge(ctx context.Context, id string) error {
	res, err := db.challenges.DeleteOne(ctx, bson.D{{Key: "challenge_id", Value: id}})
	if err != nil {
		return mapErr("consume challenge", err)
	}
	if res.DeletedCount == 0 {
		return notFound("challenge")
	}
	return nil
}
