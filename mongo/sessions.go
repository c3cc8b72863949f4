package mongo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/strongroom/strongroom"
)

// Sessions and the end of accounts, without multi-document transactions.
// Each method is a sequence of single-document (or single-statement)
// writes, ordered so that a crash between two of them errs on the safe
// side; the comments on each say how.
//
// The rule that keeps a login from adding a session after an end of all
// sessions: EndSessions (and SetPassword, DestroyUserKey) move the user's
// sessions_epoch on before they end sessions, and CreateSession inserts the
// session before it reads the epoch. A CreateSession whose read comes before
// the move inserted its session before the end's sweep, which ends it; one
// whose read comes after sees the new epoch and ends its own session.

// sessionDoc is a document of the sessions collection; _id is the
// session's id (the token's jti).
type sessionDoc struct {
	ID        string        `bson:"_id"`
	UserID    bson.ObjectID `bson:"user_id"`
	CreatedAt time.Time     `bson:"created_at"`
	ExpiresAt time.Time     `bson:"expires_at"`
	Client    string        `bson:"client"`
	UserAgent string        `bson:"user_agent"`
	EndedAt   *time.Time    `bson:"ended_at"` // null while live
	EndReason string        `bson:"end_reason"`
	// EndMark names the EndSessions call that ended the session, so the
	// call can read back exactly the sessions its update ended.
	EndMark string `bson:"end_mark,omitempty"`
}

func (d *sessionDoc) session() *strongroom.Session {
	s := &strongroom.Session{ID: d.ID, UserID: d.UserID.Hex(), CreatedAt: utc(d.CreatedAt), ExpiresAt: utc(d.ExpiresAt),
		Client: d.Client, UserAgent: d.UserAgent, EndReason: strongroom.EndReason(d.EndReason)}
	if d.EndedAt != nil {
		s.EndedAt = utc(*d.EndedAt)
	}
	return s
}

// userLock names the lock under which every write to a user's document
// is made (see updateUser).
func userLock(uid bson.ObjectID) string { return "user:" + uid.Hex() }

// updateUser applies one update to the user's document, under the user's
// lock. MongoDB applies an update to one document atomically, but FerretDB
// v1 reads the document, applies the update in memory and writes the
// whole document back: two updates of different fields at once can
// undo one another (a failure count written back over a new password
// hash or sessions epoch). The lock orders them on both servers.
func (db *DB) updateUser(ctx context.Context, filter, update bson.D) (*mdb.UpdateResult, error) {
	var res *mdb.UpdateResult
	err := db.withLock(ctx, userLock(filter[0].Value.(bson.ObjectID)), func() error {
		var err error
		res, err = db.users.UpdateOne(ctx, filter, update)
		return err
	})
	return res, err
}

// liveFilter selects the user's sessions live at now.
func liveFilter(uid bson.ObjectID, now time.Time) bson.D {
	return bson.D{{Key: "user_id", Value: uid}, {Key: "ended_at", Value: nil}, {Key: "expires_at", Value: bson.D{{Key: "$gt", Value: now}}}}
}

// newestFirst is the list order of a user's sessions.
var newestFirst = bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}

// findSessions reads every session filter selects, in sort order.
func (db *DB) findSessions(ctx context.Context, op string, filter bson.D, opts *options.FindOptionsBuilder) ([]*strongroom.Session, error) {
	cur, err := db.sessions.Find(ctx, filter, opts)
	if err != nil {
		return nil, mapErr(op, err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	out := []*strongroom.Session{}
	for cur.Next(ctx) {
		var d sessionDoc
		if err := cur.Decode(&d); err != nil {
			return nil, mapErr(op, err)
		}
		out = append(out, d.session())
	}
	return out, mapErr(op, cur.Err())
}

// CreateSession inserts the session first and reads the user second. If
// the user is gone, being deleted or past epoch, the session is ended
// (EndSuperseded) and the login refused. A crash between the insert and
// the end leaves a live session whose token was never handed out.
func (db *DB) CreateSession(ctx context.Context, s *strongroom.Session, epoch int64) error {
	uid, err := bson.ObjectIDFromHex(s.UserID)
	if err != nil {
		return strongroom.ErrSessionsEnded // no user has that id
	}
	doc := sessionDoc{ID: s.ID, UserID: uid, CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt, Client: s.Client, UserAgent: s.UserAgent,
		EndReason: string(s.EndReason)}
	if !s.EndedAt.IsZero() {
		doc.EndedAt = &s.EndedAt
	}
	if _, err := db.sessions.InsertOne(ctx, doc); err != nil {
		return mapErr("create session", err)
	}
	var u struct {
		Epoch     int64      `bson:"sessions_epoch"`
		DeletedAt *time.Time `bson:"deleted_at"`
	}
	err = db.users.FindOne(ctx, bson.D{{Key: "_id", Value: uid}},
		options.FindOne().SetProjection(bson.D{{Key: "sessions_epoch", Value: 1}, {Key: "deleted_at", Value: 1}})).Decode(&u)
	switch {
	case err == nil && u.DeletedAt == nil && u.Epoch == epoch:
		return nil
	case err == nil || errors.Is(err, mdb.ErrNoDocuments):
		err = strongroom.ErrSessionsEnded
	default: // the login fails; its session must not stay live either
		err = mapErr("create session", err)
	}
	// Ended at its own start: its token was never handed out, so no
	// replica needs to hear of it.
	_, uerr := db.sessions.UpdateOne(context.WithoutCancel(ctx), bson.D{{Key: "_id", Value: s.ID}, {Key: "ended_at", Value: nil}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "ended_at", Value: s.CreatedAt}, {Key: "end_reason", Value: string(strongroom.EndSuperseded)}}}})
	if uerr != nil {
		return errors.Join(err, mapErr("end superseded session", uerr))
	}
	return err
}

// Sessions returns up to limit of the user's sessions live at now, newest
// first, along the {user_id, created_at, _id} index.
func (db *DB) Sessions(ctx context.Context, userID string, now time.Time, limit int) ([]*strongroom.Session, error) {
	uid, err := bson.ObjectIDFromHex(userID)
	if err != nil || limit < 1 { // to MongoDB a limit of 0 is no limit
		return []*strongroom.Session{}, nil
	}
	return db.findSessions(ctx, "list sessions", liveFilter(uid, now), options.Find().SetSort(newestFirst).SetLimit(int64(limit)))
}

// EndSession ends one live session of the user in one findAndModify.
func (db *DB) EndSession(ctx context.Context, userID, id string, reason strongroom.EndReason, now time.Time) (*strongroom.Session, error) {
	uid, err := oid(userID, "session")
	if err != nil {
		return nil, err
	}
	var d sessionDoc
	err = db.sessions.FindOneAndUpdate(ctx, append(bson.D{{Key: "_id", Value: id}}, liveFilter(uid, now)...),
		bson.D{{Key: "$set", Value: bson.D{{Key: "ended_at", Value: now}, {Key: "end_reason", Value: string(reason)}}}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if errors.Is(err, mdb.ErrNoDocuments) {
		return nil, notFound("session")
	}
	if err != nil {
		return nil, mapErr("end session", err)
	}
	return d.session(), nil
}

// EndSessions moves the user's sessions epoch on, then deletes the user's
// login challenges, then ends the live sessions but keep. A crash after
// the move but before the sweep leaves sessions live that the caller
// asked to end (it gets an error, and calling again ends them), but no
// login that read the old epoch can add one. A user that does not exist
// has no epoch to move; whatever sessions it left are ended all the same.
func (db *DB) EndSessions(ctx context.Context, userID, keep string, reason strongroom.EndReason, now time.Time) ([]*strongroom.Session, error) {
	uid, err := bson.ObjectIDFromHex(userID)
	if err != nil {
		return []*strongroom.Session{}, nil // no session has that user
	}
	if _, err := db.updateUser(ctx, bson.D{{Key: "_id", Value: uid}},
		bson.D{{Key: "$inc", Value: bson.D{{Key: "sessions_epoch", Value: int64(1)}}}}); err != nil {
		return nil, mapErr("end sessions", err)
	}
	return db.endSessions(ctx, uid, keep, reason, now)
}

// endSessions is the rest of EndSessions once the epoch has moved: the
// login challenges go (a login waiting for its second factor starts
// again), then one update ends the live sessions but keep, marking them
// with a mark of this call's own, by which they are read back. On MongoDB
// each session is ended by exactly one call; on FerretDB two racing ends
// of one session may both write it, and the later one's time, reason and
// mark stand (it never becomes live again).
func (db *DB) endSessions(ctx context.Context, uid bson.ObjectID, keep string, reason strongroom.EndReason, now time.Time) ([]*strongroom.Session, error) {
	if _, err := db.challenges.DeleteMany(ctx, bson.D{{Key: "user_id", Value: uid}, {Key: "purpose", Value: string(strongroom.PurposeLogin)}}); err != nil {
		return nil, mapErr("end sessions: delete login challenges", err)
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	mark := hex.EncodeToString(b[:])
	res, err := db.sessions.UpdateMany(ctx, append(liveFilter(uid, now), bson.E{Key: "_id", Value: bson.D{{Key: "$ne", Value: keep}}}),
		bson.D{{Key: "$set", Value: bson.D{{Key: "ended_at", Value: now}, {Key: "end_reason", Value: string(reason)}, {Key: "end_mark", Value: mark}}}})
	if err != nil {
		return nil, mapErr("end sessions", err)
	}
	if res.ModifiedCount == 0 {
		return []*strongroom.Session{}, nil
	}
	return db.findSessions(ctx, "end sessions", bson.D{{Key: "user_id", Value: uid}, {Key: "end_mark", Value: mark}},
		options.Find().SetSort(newestFirst))
}

// EndedSessions returns the sessions that ended at or after since, oldest
// end first, along the ended_at index.
func (db *DB) EndedSessions(ctx context.Context, since time.Time) ([]*strongroom.Session, error) {
	return db.findSessions(ctx, "ended sessions", bson.D{{Key: "ended_at", Value: bson.D{{Key: "$gte", Value: since}}}},
		options.Find().SetSort(asc("ended_at", "_id")))
}

// PurgeSessions deletes the sessions that expired before before.
func (db *DB) PurgeSessions(ctx context.Context, before time.Time) (int, error) {
	res, err := db.sessions.DeleteMany(ctx, bson.D{{Key: "expires_at", Value: bson.D{{Key: "$lt", Value: before}}}})
	if err != nil {
		return 0, mapErr("purge sessions", err)
	}
	return int(res.DeletedCount), nil
}

// SetPassword reads the epoch and, if it is still epoch, sets the hash
// and salt and moves the epoch on in one update of the user's document,
// both under the user's lock (every write of the epoch takes it); then it
// ends the other sessions as EndSessions does. A crash between leaves the
// new password in force and the other sessions live until the call is
// made again.
func (db *DB) SetPassword(ctx context.Context, userID, hash, salt, keep string, epoch int64, now time.Time) ([]*strongroom.Session, error) {
	uid, err := oid(userID, "user")
	if err != nil {
		return nil, err
	}
	err = db.withLock(ctx, userLock(uid), func() error {
		u, err := db.findUser(ctx, bson.D{{Key: "_id", Value: uid}, notDeleted})
		if err != nil {
			return err
		}
		if u.SessionsEpoch != epoch {
			return strongroom.ErrSessionsEnded
		}
		_, err = db.users.UpdateOne(ctx, bson.D{{Key: "_id", Value: uid}}, bson.D{
			{Key: "$set", Value: bson.D{{Key: "hashed_password", Value: hash}, {Key: "salt", Value: salt}}},
			{Key: "$inc", Value: bson.D{{Key: "sessions_epoch", Value: int64(1)}}},
		})
		return mapErr("set password", err)
	})
	if err != nil {
		return nil, err
	}
	return db.endSessions(ctx, uid, keep, strongroom.EndPasswordChanged, now)
}

// DestroyUserKey marks the user as being deleted and moves the epoch on,
// in one update of the user's document, before it deletes the key: a
// crash between leaves a user that nobody finds or logs in as and that
// UsersBeingDeleted lists, and DeleteUser deletes the key too. Last, under
// the lock on the user's records, it deletes the user's record counts, so
// that no record can be created for the user from then on (userUsage).
func (db *DB) DestroyUserKey(ctx context.Context, userID string, now time.Time) error {
	uid, err := oid(userID, "user")
	if err != nil {
		return err
	}
	err = db.withLock(ctx, userLock(uid), func() error {
		res, err := db.users.UpdateOne(ctx, bson.D{{Key: "_id", Value: uid}, notDeleted}, bson.D{
			{Key: "$set", Value: bson.D{{Key: "deleted_at", Value: now}}},
			{Key: "$inc", Value: bson.D{{Key: "sessions_epoch", Value: int64(1)}}},
		})
		if err != nil || res.MatchedCount > 0 {
			return err
		}
		// Being deleted already: keep the first time.
		res, err = db.users.UpdateOne(ctx, bson.D{{Key: "_id", Value: uid}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "sessions_epoch", Value: int64(1)}}}})
		if err == nil && res.MatchedCount == 0 {
			return notFound("user")
		}
		return err
	})
	if err != nil {
		return mapErr("destroy user key", err)
	}
	if _, err := db.keys.DeleteOne(ctx, bson.D{{Key: "_id", Value: uid}}); err != nil {
		return mapErr("destroy user key", err)
	}
	return db.withUserLock(ctx, uid, func() error {
		_, err := db.usage.DeleteOne(ctx, bson.D{{Key: "_id", Value: uid}})
		return mapErr("destroy user key: delete record usage", err)
	})
}

// DeleteUser deletes, in this order, the key (in case DestroyUserKey was
// cut short), the record counts and the records (under the lock on the
// user's records, so no create slips in between), the recovery codes, the
// challenges, and last the user. A crash before the last step leaves the
// user listed by UsersBeingDeleted, and calling again finishes (counting
// only the records that call deleted). Sessions stay: tombstones until
// they expire.
func (db *DB) DeleteUser(ctx context.Context, userID string) (int, error) {
	uid, err := oid(userID, "user")
	if err != nil {
		return 0, err
	}
	var u struct {
		DeletedAt *time.Time `bson:"deleted_at"`
	}
	err = db.users.FindOne(ctx, bson.D{{Key: "_id", Value: uid}}, options.FindOne().SetProjection(bson.D{{Key: "deleted_at", Value: 1}})).Decode(&u)
	if errors.Is(err, mdb.ErrNoDocuments) {
		return 0, notFound("user")
	}
	if err != nil {
		return 0, mapErr("delete user", err)
	}
	if u.DeletedAt == nil {
		return 0, strongroom.Errorf(strongroom.KindConflict, "the account is not being deleted")
	}
	if _, err := db.keys.DeleteOne(ctx, bson.D{{Key: "_id", Value: uid}}); err != nil {
		return 0, mapErr("delete user: key", err)
	}
	var n int64
	err = db.withUserLock(ctx, uid, func() error {
		// The counts first (DestroyUserKey deleted them already, unless
		// it was cut short): without them no create gets in, even one
		// that took over this lock from a deletion slower than lockTTL.
		if _, err := db.usage.DeleteOne(ctx, bson.D{{Key: "_id", Value: uid}}); err != nil {
			return mapErr("delete user: record usage", err)
		}
		res, err := db.data.DeleteMany(ctx, bson.D{{Key: "user_id", Value: uid}})
		if err != nil {
			return mapErr("delete user: records", err)
		}
		n = res.DeletedCount
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, c := range []*mdb.Collection{db.recovery, db.challenges, db.passkeys} {
		if _, err := c.DeleteMany(ctx, bson.D{{Key: "user_id", Value: uid}}); err != nil {
			return 0, mapErr("delete user: "+c.Name(), err)
		}
	}
	if _, err := db.users.DeleteOne(ctx, bson.D{{Key: "_id", Value: uid}, {Key: "deleted_at", Value: bson.D{{Key: "$ne", Value: nil}}}}); err != nil {
		return 0, mapErr("delete user", err)
	}
	return int(n), nil
}

// UsersBeingDeleted returns up to limit users whose deletion began, oldest
// first, along the deleted_at index.
func (db *DB) UsersBeingDeleted(ctx context.Context, limit int) ([]*strongroom.User, error) {
	if limit < 1 {
		return []*strongroom.User{}, nil
	}
	cur, err := db.users.Find(ctx, bson.D{{Key: "deleted_at", Value: bson.D{{Key: "$ne", Value: nil}}}},
		options.Find().SetSort(asc("deleted_at", "_id")).SetLimit(int64(limit)))
	if err != nil {
		return nil, mapErr("users being deleted", err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	out := []*strongroom.User{}
	for cur.Next(ctx) {
		var d userDoc
		if err := cur.Decode(&d); err != nil {
			return nil, mapErr("users being deleted", err)
		}
		out = append(out, d.user())
	}
	return out, mapErr("users being deleted", cur.Err())
}
