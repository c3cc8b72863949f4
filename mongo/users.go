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

// userDoc is a document of the seed's users collection.
type userDoc struct {
	ID                    bson.ObjectID `bson:"_id"`
	Username              string        `bson:"username"`
	Email                 string        `bson:"email"`
	HashedPassword        string        `bson:"hashed_password"`
	Salt                  string        `bson:"salt"`
	FailedAttempts        int32         `bson:"failed_attempts"`
	LastFailedAttemptTime *time.Time    `bson:"last_failed_attempt_time"`
	TOTPSecret            *string       `bson:"totp_secret"` // encrypted; null if none
	TwoFactorEnabled      bool          `bson:"two_factor_enabled"`
	IsAdmin               bool          `bson:"is_admin"`
	CreatedAt             time.Time     `bson:"created_at"`
	EmailOTPEnabled       bool          `bson:"email_otp_enabled"`
	TOTPEnabled           bool          `bson:"totp_enabled"`
	TOTPPendingSecret     *string       `bson:"totp_pending_secret"`
	TOTPLastStep          int64         `bson:"totp_last_step"`
	FactorsVersion        int64         `bson:"factors_version"`
	OTPFailedAttempts     int32         `bson:"otp_failed_attempts"`
	OTPLastFailedAttempt  *time.Time    `bson:"otp_last_failed_attempt_time"`
	// SessionsEpoch and DeletedAt are absent from documents made before
	// sessions existed: they read as 0 and not being deleted, and a filter
	// on deleted_at: null matches them.
	SessionsEpoch int64      `bson:"sessions_epoch"`
	DeletedAt     *time.Time `bson:"deleted_at"`
}

func (d *userDoc) user() *strongroom.User {
	u := &strongroom.User{
		ID: d.ID.Hex(), Username: d.Username, Email: d.Email, HashedPassword: d.HashedPassword, Salt: d.Salt,
		FailedAttempts: int(d.FailedAttempts), TwoFactorEnabled: d.TwoFactorEnabled, IsAdmin: d.IsAdmin, CreatedAt: utc(d.CreatedAt),
	}
	if d.LastFailedAttemptTime != nil {
		u.LastFailedAttemptTime = utc(*d.LastFailedAttemptTime)
	}
	if d.TOTPSecret != nil {
		u.TOTPSecret = *d.TOTPSecret
	}
	if d.TOTPPendingSecret != nil {
		u.TOTPPendingSecret = *d.TOTPPendingSecret
	}
	u.EmailOTPEnabled, u.TOTPEnabled, u.TOTPLastStep = d.EmailOTPEnabled, d.TOTPEnabled, d.TOTPLastStep
	u.FactorsVersion, u.SecondFactorFailures = d.FactorsVersion, int(d.OTPFailedAttempts)
	if d.OTPLastFailedAttempt != nil {
		u.LastSecondFactorFailure = utc(*d.OTPLastFailedAttempt)
	}
	u.SessionsEpoch = d.SessionsEpoch
	if d.DeletedAt != nil {
		u.DeletedAt = utc(*d.DeletedAt)
	}
	return u
}

// keyDoc is a wrapped data key; _id is the user's id.
type keyDoc struct {
	UserID     bson.ObjectID `bson:"_id"`
	WrappedDEK string        `bson:"wrapped_dek"`
	KEKVersion int32         `bson:"kek_version"`
	UpdatedAt  time.Time     `bson:"updated_at"`
}

// CreateUser stores the key first and the user second, so a user never
// exists without a key (an interrupted call leaves at most an orphan key).
// The rotation target is read after the key is stored: a rotation that
// recorded its target before that read refuses the key (ErrStaleKey), and
// one that recorded it later sees the key in its rewrap pass.
func (db *DB) CreateUser(ctx context.Context, u *strongroom.User, key strongroom.WrappedKey, firstIsAdmin bool) error {
	id, err := bson.ObjectIDFromHex(u.ID)
	if err != nil {
		return strongroom.Internal("mongo: create user", err)
	}
	if _, err := db.keys.InsertOne(ctx, keyDoc{UserID: id, WrappedDEK: key.Ciphertext, KEKVersion: int32(key.Version), UpdatedAt: u.CreatedAt}); err != nil {
		return mapErr("create user key", err)
	}
	undo := func() { _, _ = db.keys.DeleteOne(context.WithoutCancel(ctx), bson.D{{Key: "_id", Value: id}}) }
	r, err := db.Rotation(ctx)
	if err != nil {
		undo()
		return err
	}
	if key.Version < r.TargetVersion {
		undo()
		return strongroom.ErrStaleKey
	}
	// The first account of an empty store is the admin. Only a caller that
	// finds the users collection empty competes for the marker, a fixed
	// _id that one insert claims and every other finds taken; so a database
	// that already holds users (the seed's, say) gets no admin this way, and
	// of parallel first registrations exactly one wins.
	admin := false
	if firstIsAdmin {
		n, err := db.users.CountDocuments(ctx, bson.D{}, options.Count().SetLimit(1))
		if err != nil {
			undo()
			return mapErr("create user: count users", err)
		}
		if n == 0 {
			_, err := db.settings.InsertOne(ctx, bson.D{{Key: "_id", Value: "admin"}, {Key: "user_id", Value: id}})
			switch {
			case err == nil:
				admin = true
			case !mdb.IsDuplicateKeyError(err):
				undo()
				return mapErr("claim admin", err)
			}
		}
	}
	if admin {
		plain := undo
		undo = func() {
			plain()
			_, _ = db.settings.DeleteOne(context.WithoutCancel(ctx), bson.D{{Key: "_id", Value: "admin"}, {Key: "user_id", Value: id}})
		}
	}
	doc := userDoc{ID: id, Username: u.Username, Email: u.Email, HashedPassword: u.HashedPassword, Salt: u.Salt,
		TwoFactorEnabled: u.TwoFactorEnabled, IsAdmin: admin, CreatedAt: u.CreatedAt}
	if u.TOTPSecret != "" {
		doc.TOTPSecret = &u.TOTPSecret
	}
	if _, err := db.users.InsertOne(ctx, doc); err != nil {
		undo()
		if mdb.IsDuplicateKeyError(err) {
			return db.whichTaken(ctx, u)
		}
		return mapErr("create user", err)
	}
	u.IsAdmin = admin
	return nil
}

// whichTaken names the field of a duplicate: not every server says which
// index collided (FerretDB does not), so look.
func (db *DB) whichTaken(ctx context.Context, u *strongroom.User) error {
	// A user being deleted still holds its name: look without
	// UserByUsername, which does not find such a user.
	if _, err := db.findUser(ctx, bson.D{{Key: "username", Value: u.Username}}); err == nil {
		return strongroom.ErrUsernameTaken
	}
	return strongroom.ErrEmailTaken
}

func (db *DB) findUser(ctx context.Context, filter bson.D) (*strongroom.User, error) {
	var d userDoc
	err := db.users.FindOne(ctx, filter).Decode(&d)
	if errors.Is(err, mdb.ErrNoDocuments) {
		return nil, notFound("user")
	}
	if err != nil {
		return nil, mapErr("read user", err)
	}
	return d.user(), nil
}

// notDeleted is the filter of a user not being deleted.
var notDeleted = bson.E{Key: "deleted_at", Value: nil}

// UserByUsername returns the user, or KindNotFound (also for a user being
// deleted).
func (db *DB) UserByUsername(ctx context.Context, username string) (*strongroom.User, error) {
	return db.findUser(ctx, bson.D{{Key: "username", Value: username}, notDeleted})
}

// UserByID returns the user, or KindNotFound (also for a user being
// deleted).
func (db *DB) UserByID(ctx context.Context, id string) (*strongroom.User, error) {
	o, err := oid(id, "user")
	if err != nil {
		return nil, err
	}
	return db.findUser(ctx, bson.D{{Key: "_id", Value: o}, notDeleted})
}

// ClaimLoginAttempt counts a failure up front: a read and a write under
// the user's lock, so parallel claims never lose a count.
func (db *DB) ClaimLoginAttempt(ctx context.Context, userID string, now time.Time, p strongroom.Lockout) (int, error) {
	o, err := oid(userID, "user")
	if err != nil {
		return 0, err
	}
	var n int
	err = db.withLock(ctx, userLock(o), func() error {
		u, err := db.findUser(ctx, bson.D{{Key: "_id", Value: o}})
		if err != nil {
			return err
		}
		if n, err = claim(u.FailedAttempts, u.LastFailedAttemptTime, now, p, true); err != nil {
			return err
		}
		_, err = db.users.UpdateOne(ctx, bson.D{{Key: "_id", Value: o}}, bson.D{{Key: "$set", Value: bson.D{
			{Key: "failed_attempts", Value: int32(n)}, {Key: "last_failed_attempt_time", Value: now}}}})
		return mapErr("claim login attempt", err)
	})
	return n, err
}

// claim is the lockout rule: the count with one more failure at now, or
// KindLocked. With expire, a count whose last failure is older than the
// window starts again.
func claim(failures int, last, now time.Time, p strongroom.Lockout, expire bool) (int, error) {
	if p.Locked(failures, last, now) {
		return 0, strongroom.LockedUntil(last.Add(p.Window), now)
	}
	if expire && (last.IsZero() || !last.After(now.Add(-p.Window))) {
		return 1, nil
	}
	return failures + 1, nil
}

// failureDoc counts failed logins for a name that has no account; _id is
// the username.
type failureDoc struct {
	Username              string    `bson:"_id"`
	FailedAttempts        int32     `bson:"failed_attempts"`
	LastFailedAttemptTime time.Time `bson:"last_failed_attempt_time"`
}

// ClaimUnknownLoginAttempt counts a failure for a name without an account,
// under the name's lock, by the same rule as ClaimLoginAttempt. Counts past
// the window are purged at most once a minute, not on every attempt.
func (db *DB) ClaimUnknownLoginAttempt(ctx context.Context, username string, now time.Time, p strongroom.Lockout) error {
	if db.failuresPurge.Due(now, time.Minute) {
		if _, err := db.failures.DeleteMany(ctx, bson.D{{Key: "last_failed_attempt_time", Value: bson.D{{Key: "$lte", Value: now.Add(-p.Window)}}}}); err != nil {
			return mapErr("purge login failures", err)
		}
	}
	return db.withLock(ctx, "login-name:"+username, func() error {
		var d failureDoc
		err := db.failures.FindOne(ctx, bson.D{{Key: "_id", Value: username}}).Decode(&d)
		if err != nil && !errors.Is(err, mdb.ErrNoDocuments) {
			return mapErr("claim login attempt", err)
		}
		n, err := claim(int(d.FailedAttempts), d.LastFailedAttemptTime, now, p, true)
		if err != nil {
			return err
		}
		_, err = db.failures.ReplaceOne(ctx, bson.D{{Key: "_id", Value: username}},
			failureDoc{Username: username, FailedAttempts: int32(n), LastFailedAttemptTime: now}, options.Replace().SetUpsert(true))
		return mapErr("claim login attempt", err)
	})
}

// ClaimSecondFactorAttempt counts a failed second factor up front, under
// the user's lock; only a reset forgets the count.
func (db *DB) ClaimSecondFactorAttempt(ctx context.Context, userID string, now time.Time, p strongroom.Lockout) (int, error) {
	o, err := oid(userID, "user")
	if err != nil {
		return 0, err
	}
	var n int
	err = db.withLock(ctx, userLock(o), func() error {
		u, err := db.findUser(ctx, bson.D{{Key: "_id", Value: o}})
		if err != nil {
			return err
		}
		if n, err = claim(u.SecondFactorFailures, u.LastSecondFactorFailure, now, p, false); err != nil {
			return err
		}
		_, err = db.users.UpdateOne(ctx, bson.D{{Key: "_id", Value: o}}, bson.D{{Key: "$set", Value: bson.D{
			{Key: "otp_failed_attempts", Value: int32(n)}, {Key: "otp_last_failed_attempt_time", Value: now}}}})
		return mapErr("claim second factor attempt", err)
	})
	return n, err
}

// ResetSecondFactorFailures clears the count of failed second factors.
func (db *DB) ResetSecondFactorFailures(ctx context.Context, userID string) error {
	o, err := oid(userID, "user")
	if err != nil {
		return err
	}
	return db.withLock(ctx, userLock(o), func() error {
		_, err := db.users.UpdateOne(ctx, bson.D{{Key: "_id", Value: o}, {Key: "otp_failed_attempts", Value: bson.D{{Key: "$gt", Value: 0}}}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "otp_failed_attempts", Value: int32(0)}, {Key: "otp_last_failed_attempt_time", Value: nil}}}})
		return mapErr("reset second factor failures", err)
	})
}

// ResetLoginFailures clears the failure count.
func (db *DB) ResetLoginFailures(ctx context.Context, userID string) error {
	o, err := oid(userID, "user")
	if err != nil {
		return err
	}
	return db.withLock(ctx, userLock(o), func() error {
		_, err := db.users.UpdateOne(ctx, bson.D{{Key: "_id", Value: o}, {Key: "failed_attempts", Value: bson.D{{Key: "$ne", Value: 0}}}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "failed_attempts", Value: int32(0)}, {Key: "last_failed_attempt_time", Value: nil}}}})
		return mapErr("reset login failures", err)
	})
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// SetSecondFactors writes the user's second-factor settings if they are
// still at version from: a read and a write under the user's lock.
func (db *DB) SetSecondFactors(ctx context.Context, userID string, from int64, f strongroom.SecondFactors) error {
	o, err := oid(userID, "user")
	if err != nil {
		return err
	}
	return db.withLock(ctx, userLock(o), func() error {
		u, err := db.findUser(ctx, bson.D{{Key: "_id", Value: o}})
		if err != nil {
			return err
		}
		if u.FactorsVersion != from {
			return strongroom.ErrFactorsChanged
		}
		_, err = db.users.UpdateOne(ctx, bson.D{{Key: "_id", Value: o}}, bson.D{{Key: "$set", Value: bson.D{
			{Key: "email_otp_enabled", Value: f.EmailOTP}, {Key: "totp_enabled", Value: f.TOTP},
			{Key: "totp_secret", Value: nullable(f.TOTPSecret)}, {Key: "totp_pending_secret", Value: nullable(f.TOTPPending)},
			{Key: "two_factor_enabled", Value: f.EmailOTP || f.TOTP}, {Key: "factors_version", Value: from + 1},
		}}})
		return mapErr("set second factors", err)
	})
}

// UseTOTPStep moves the last accepted step forward, only forward, under
// the user's lock.
func (db *DB) UseTOTPStep(ctx context.Context, userID string, step int64) error {
	o, err := oid(userID, "user")
	if err != nil {
		return err
	}
	return db.withLock(ctx, userLock(o), func() error {
		u, err := db.findUser(ctx, bson.D{{Key: "_id", Value: o}})
		if err != nil {
			return err
		}
		if u.TOTPLastStep >= step {
			return strongroom.Errorf(strongroom.KindConflict, "this code was already used")
		}
		_, err = db.users.UpdateOne(ctx, bson.D{{Key: "_id", Value: o}}, bson.D{{Key: "$set", Value: bson.D{{Key: "totp_last_step", Value: step}}}})
		return mapErr("use totp step", err)
	})
}
