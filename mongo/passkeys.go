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

// Passkeys is the collection of passkeys (public keys only); credential_id
// has a unique index. Ceremonies keeps the keyed hashes of passkey
// challenges under way (_id), each deleted when answered.
const (
	Passkeys   = "passkeys"
	Ceremonies = "passkey_ceremonies"
)

type passkeyDoc struct {
	ID             bson.ObjectID `bson:"_id"`
	UserID         bson.ObjectID `bson:"user_id"`
	CredentialID   []byte        `bson:"credential_id"`
	Name           string        `bson:"name"`
	PublicKey      []byte        `bson:"public_key"`
	AAGUID         []byte        `bson:"aaguid"`
	SignCount      int64         `bson:"sign_count"`
	BackupEligible bool          `bson:"backup_eligible"`
	BackupState    bool          `bson:"backup_state"`
	Transports     []string      `bson:"transports"`
	CreatedAt      time.Time     `bson:"created_at"`
	LastUsedAt     *time.Time    `bson:"last_used_at"`
}

// AddPasskey stores a passkey while its user has fewer than max: the
// count and the insert are made under the lock on the user's records
// (lock.go), so parallel adds, on any server, cannot overshoot. A
// credential id stored already (for any account) is ErrPasskeyTaken.
func (db *DB) AddPasskey(ctx context.Context, p *strongroom.Passkey, max int) error {
	id, err := bson.ObjectIDFromHex(p.ID)
	if err != nil {
		return strongroom.Internal("mongo: add passkey", err)
	}
	uid, err := bson.ObjectIDFromHex(p.UserID)
	if err != nil {
		return strongroom.Internal("mongo: add passkey", err)
	}
	transports := p.Transports
	if transports == nil {
		transports = []string{}
	}
	aaguid := p.AAGUID
	if aaguid == nil {
		aaguid = []byte{}
	}
	return db.withUserLock(ctx, uid, func() error {
		n, err := db.passkeys.CountDocuments(ctx, bson.D{{Key: "user_id", Value: uid}})
		if err != nil {
			return mapErr("add passkey", err)
		}
		if n >= int64(max) {
			return strongroom.ErrPasskeyLimit
		}
		_, err = db.passkeys.InsertOne(ctx, passkeyDoc{ID: id, UserID: uid, CredentialID: p.CredentialID, Name: p.Name, PublicKey: p.PublicKey,
			AAGUID: aaguid, SignCount: int64(p.SignCount), BackupEligible: p.BackupEligible, BackupState: p.BackupState,
			Transports: transports, CreatedAt: p.CreatedAt})
		if mdb.IsDuplicateKeyError(err) {
			return strongroom.ErrPasskeyTaken
		}
		return mapErr("add passkey", err)
	})
}

func (d *passkeyDoc) passkey() *strongroom.Passkey {
	p := &strongroom.Passkey{ID: d.ID.Hex(), UserID: d.UserID.Hex(), CredentialID: d.CredentialID, Name: d.Name, PublicKey: d.PublicKey,
		AAGUID: d.AAGUID, SignCount: uint32(d.SignCount), BackupEligible: d.BackupEligible, BackupState: d.BackupState,
		CreatedAt: utc(d.CreatedAt)}
	if len(d.Transports) > 0 {
		p.Transports = d.Transports
	}
	if d.LastUsedAt != nil {
		p.LastUsedAt = utc(*d.LastUsedAt)
	}
	return p
}

// Passkeys returns the user's passkeys, oldest first.
func (db *DB) Passkeys(ctx context.Context, userID string) ([]*strongroom.Passkey, error) {
	uid, err := oid(userID, "user")
	if err != nil {
		return []*strongroom.Passkey{}, nil
	}
	cur, err := db.passkeys.Find(ctx, bson.D{{Key: "user_id", Value: uid}},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, mapErr("passkeys", err)
	}
	var docs []passkeyDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mapErr("passkeys", err)
	}
	out := make([]*strongroom.Passkey, len(docs))
	for i := range docs {
		out[i] = docs[i].passkey()
	}
	return out, nil
}

// PasskeyByCredential returns the passkey with that credential id.
func (db *DB) PasskeyByCredential(ctx context.Context, credentialID []byte) (*strongroom.Passkey, error) {
	var d passkeyDoc
	err := db.passkeys.FindOne(ctx, bson.D{{Key: "credential_id", Value: credentialID}}).Decode(&d)
	if errors.Is(err, mdb.ErrNoDocuments) {
		return nil, notFound("passkey")
	}
	if err != nil {
		return nil, mapErr("passkey", err)
	}
	return d.passkey(), nil
}

// UsePasskey records a sign-in with one of the user's passkeys, if its
// counter is still from: a read and a write under the passkey's lock, as
// a conditional update is not atomic on FerretDB v1 (lock.go).
func (db *DB) UsePasskey(ctx context.Context, userID, id string, from, signCount uint32, backupState bool, at time.Time) error {
	filter, err := owned(userID, id, "passkey")
	if err != nil {
		return err
	}
	return db.withLock(ctx, "passkey:"+id, func() error {
		var d passkeyDoc
		err := db.passkeys.FindOne(ctx, filter).Decode(&d)
		if errors.Is(err, mdb.ErrNoDocuments) {
			return notFound("passkey")
		}
		if err != nil {
			return mapErr("use passkey", err)
		}
		if d.SignCount != int64(from) {
			return strongroom.ErrPasskeyUsed
		}
		_, err = db.passkeys.UpdateOne(ctx, filter, bson.D{{Key: "$set", Value: bson.D{{Key: "sign_count", Value: int64(signCount)},
			{Key: "backup_state", Value: backupState}, {Key: "last_used_at", Value: at}}}})
		return mapErr("use passkey", err)
	})
}

// DeletePasskey deletes one of the user's passkeys.
func (db *DB) DeletePasskey(ctx context.Context, userID, id string) error {
	filter, err := owned(userID, id, "passkey")
	if err != nil {
		return err
	}
	res, err := db.passkeys.DeleteOne(ctx, filter)
	if err != nil {
		return mapErr("delete passkey", err)
	}
	if res.DeletedCount == 0 {
		return notFound("passkey")
	}
	return nil
}

// PutCeremony stores a ceremony's challenge hash and drops expired ones
// (the TTL index does it too, where the server has one).
func (db *DB) PutCeremony(ctx context.Context, hash string, now, expires time.Time) error {
	if _, err := db.ceremonies.DeleteMany(ctx, bson.D{{Key: "expires_at", Value: bson.D{{Key: "$lte", Value: now}}}}); err != nil {
		return mapErr("put ceremony", err)
	}
	_, err := db.ceremonies.InsertOne(ctx, bson.D{{Key: "_id", Value: hash}, {Key: "expires_at", Value: expires}})
	return mapErr("put ceremony", err)
}

// TakeCeremony deletes a live ceremony's hash; only one caller succeeds.
func (db *DB) TakeCeremony(ctx context.Context, hash string, now time.Time) error {
	res, err := db.ceremonies.DeleteOne(ctx, bson.D{{Key: "_id", Value: hash}, {Key: "expires_at", Value: bson.D{{Key: "$gt", Value: now}}}})
	if err != nil {
		return mapErr("take ceremony", err)
	}
	if res.DeletedCount == 0 {
		return notFound("passkey challenge")
	}
	return nil
}

var (
	_ strongroom.PasskeyStore  = (*DB)(nil)
	_ strongroom.CeremonyStore = (*DB)(nil)
)
