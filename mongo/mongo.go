// Package mongo is the production store: MongoDB, with the seed design's
// collections and field names (users, sensitive_data) plus user_keys,
// otp_challenges and key_rotation. It needs no multi-document transactions
// (FerretDB v1 and standalone servers have none): every rule the service
// relies on is one atomic single-document operation, or an order of
// operations that is safe if interrupted (see CreateUser, and sessions.go).
package mongo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/internal/periodic"
)

var _ strongroom.Store = (*DB)(nil)

// DefaultTimeout bounds every operation, so an unreachable server gives
// KindUnavailable quickly instead of a hang.
const DefaultTimeout = 5 * time.Second

// Collection names.
const (
	Users         = "users"
	SensitiveData = "sensitive_data"
	UserKeys      = "user_keys"
	Challenges    = "otp_challenges"
	Rotation      = "key_rotation"
	Settings      = "settings"
	LoginFailures = "login_failures"
	Sessions      = "sessions"
	RateLimits    = "rate_limits"
)

// DB is the MongoDB store.
type DB struct {
	client *mdb.Client
	db     *mdb.Database
	log    *slog.Logger

	users, data, keys, challenges, rotation, settings, locks, recovery, failures, usage, sessions, limits *mdb.Collection
	audit, auditHeads, auditStarts, passkeys, ceremonies                                                  *mdb.Collection

	local         keyedLocks    // in front of the store's locks (lock.go)
	failuresPurge periodic.Gate // login_failures past their window
	limitsPurge   periodic.Gate // rate_limits full again
}

// Open connects to the server at url, uses database name, and creates the
// indexes (idempotently). timeout bounds every operation (DefaultTimeout if
// zero).
func Open(ctx context.Context, url, name string, timeout time.Duration, log *slog.Logger) (*DB, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := options.Client().ApplyURI(url).
		SetTimeout(timeout).
		SetServerSelectionTimeout(timeout).
		SetConnectTimeout(timeout).
		SetAppName("strongroom")
	client, err := mdb.Connect(opts)
	if err != nil {
		return nil, fmt.Errorf("mongo: connect: %s", redact(err.Error(), url))
	}
	d := client.Database(name)
	db := &DB{
		client: client, db: d, log: log,
		users: d.Collection(Users), data: d.Collection(SensitiveData), keys: d.Collection(UserKeys),
		challenges: d.Collection(Challenges), rotation: d.Collection(Rotation), settings: d.Collection(Settings),
		locks: d.Collection(Locks), recovery: d.Collection(RecoveryCodes), failures: d.Collection(LoginFailures),
		usage: d.Collection(Usage), sessions: d.Collection(Sessions), limits: d.Collection(RateLimits),
		audit: d.Collection(AuditEvents), auditHeads: d.Collection(AuditHeads), auditStarts: d.Collection(AuditStarts),
		passkeys: d.Collection(Passkeys), ceremonies: d.Collection(Ceremonies),
	}
	if err := db.ensureIndexes(ctx); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, errors.New(redact(err.Error(), url))
	}
	if err := db.ensureAuditHead(ctx); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, errors.New(redact(err.Error(), url))
	}
	if err := db.forgetNamedFailures(ctx); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, errors.New(redact(err.Error(), url))
	}
	return db, nil
}

// forgetNamedFailures deletes the login_failures counts whose _id is a name
// rather than a keyed hash of it (otp.UnknownNameHash: 64 hex digits), as
// the seed design and earlier versions kept them: a name typed at login may
// be a password typed into the wrong box. Each count lasted only the
// lockout window, so nothing of use goes.
func (db *DB) forgetNamedFailures(ctx context.Context) error {
	// Found here rather than by a negated $regex, which FerretDB does not
	// apply as MongoDB does; the collection holds only the counts of the
	// last lockout window.
	cur, err := db.failures.Find(ctx, bson.D{}, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return mapErr("forget named login failures", err)
	}
	var docs []struct {
		Name string `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return mapErr("forget named login failures", err)
	}
	var named []string
	for _, d := range docs {
		if !isKeyedName(d.Name) {
			named = append(named, d.Name)
		}
	}
	if len(named) == 0 {
		return nil
	}
	_, err = db.failures.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: named}}}})
	return mapErr("forget named login failures", err)
}

// isKeyedName reports whether s has the form of otp.UnknownNameHash: 64
// lowercase hex digits.
func isKeyedName(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Close disconnects.
func (db *DB) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	return db.client.Disconnect(ctx)
}

// Ping checks that the primary answers.
func (db *DB) Ping(ctx context.Context) error {
	return mapErr("ping", db.client.Ping(ctx, readpref.Primary()))
}

type index struct {
	coll   *mdb.Collection
	model  mdb.IndexModel
	ttl    bool
	reason string
}

// asc is an ascending index key or sort over keys.
func asc(keys ...string) bson.D {
	d := bson.D{}
	for _, k := range keys {
		d = append(d, bson.E{Key: k, Value: 1})
	}
	return d
}

func (db *DB) ensureIndexes(ctx context.Context) error {
	named := func(name string) *options.IndexOptionsBuilder { return options.Index().SetName(name) }
	// Codes from before lookup_hash existed (they live 5 minutes) would
	// collide in its unique index: they are dropped.
	if _, err := db.challenges.DeleteMany(ctx, bson.D{{Key: "lookup_hash", Value: bson.D{{Key: "$exists", Value: false}}}}); err != nil {
		return mapErr("drop old challenges", err)
	}
	for _, ix := range []index{
		{coll: db.users, model: mdb.IndexModel{Keys: asc("username"), Options: named("username_1").SetUnique(true)}},
		{coll: db.users, model: mdb.IndexModel{Keys: asc("email"), Options: named("email_1").SetUnique(true)}},
		{coll: db.data, model: mdb.IndexModel{Keys: asc("user_id", "created_at", "_id"), Options: named("user_id_1_created_at_1__id_1")}},
		{coll: db.keys, model: mdb.IndexModel{Keys: asc("kek_version", "_id"), Options: named("kek_version_1__id_1")}},
		{coll: db.challenges, model: mdb.IndexModel{Keys: asc("challenge_id"), Options: named("challenge_id_1").SetUnique(true)}},
		{coll: db.challenges, model: mdb.IndexModel{Keys: asc("lookup_hash"), Options: named("lookup_hash_1").SetUnique(true)}},
		{coll: db.recovery, model: mdb.IndexModel{Keys: asc("user_id"), Options: named("user_id_1")}},
		{coll: db.failures, model: mdb.IndexModel{Keys: asc("last_failed_attempt_time"), Options: named("last_failed_attempt_time_1")}},
		{coll: db.limits, model: mdb.IndexModel{Keys: asc("full"), Options: named("full_1")}},
		{coll: db.users, model: mdb.IndexModel{Keys: asc("deleted_at"), Options: named("deleted_at_1")}},
		{coll: db.sessions, model: mdb.IndexModel{Keys: asc("user_id", "created_at", "_id"), Options: named("user_id_1_created_at_1__id_1")}},
		{coll: db.sessions, model: mdb.IndexModel{Keys: asc("ended_at"), Options: named("ended_at_1")}},
		// Not a TTL index: PurgeSessions deletes expired sessions, at the
		// service's pace and by its clock.
		{coll: db.sessions, model: mdb.IndexModel{Keys: asc("expires_at"), Options: named("expires_at_1")}},
		{coll: db.audit, model: mdb.IndexModel{Keys: asc("user_id", "_id"), Options: named("user_id_1__id_1")}},
		{coll: db.audit, model: mdb.IndexModel{Keys: asc("type", "_id"), Options: named("type_1__id_1")}},
		{coll: db.audit, model: mdb.IndexModel{Keys: asc("time"), Options: named("time_1")}},
		{coll: db.challenges, model: mdb.IndexModel{Keys: asc("expires_at"), Options: named("expires_at_ttl").SetExpireAfterSeconds(0)}, ttl: true},
		{coll: db.passkeys, model: mdb.IndexModel{Keys: asc("credential_id"), Options: named("credential_id_1").SetUnique(true)}},
		{coll: db.passkeys, model: mdb.IndexModel{Keys: asc("user_id", "created_at", "_id"), Options: named("user_id_1_created_at_1__id_1")}},
		{coll: db.ceremonies, model: mdb.IndexModel{Keys: asc("expires_at"), Options: named("expires_at_ttl").SetExpireAfterSeconds(0)}, ttl: true},
	} {
		_, err := ix.coll.Indexes().CreateOne(ctx, ix.model)
		if err == nil {
			continue
		}
		var ce mdb.CommandError
		if ix.ttl && errors.As(err, &ce) && ce.Code == 238 { // NotImplemented: FerretDB v1 has no TTL indexes
			db.log.Warn("the MongoDB server has no TTL indexes; expired entries are deleted by Strongroom instead",
				"collection", ix.coll.Name())
			continue
		}
		return mapErr("create index on "+ix.coll.Name(), err)
	}
	return nil
}

// mapErr turns a driver error into the service's error kinds.
func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var se *strongroom.Error
	if errors.As(err, &se) {
		return err
	}
	switch {
	case mdb.IsDuplicateKeyError(err):
		msg := err.Error()
		switch {
		case strings.Contains(msg, "username"):
			return strongroom.ErrUsernameTaken
		case strings.Contains(msg, "email"):
			return strongroom.ErrEmailTaken
		}
		return &strongroom.Error{Kind: strongroom.KindConflict, Message: "conflict", Err: fmt.Errorf("mongo: %s: %w", op, err)}
	case mdb.IsTimeout(err), mdb.IsNetworkError(err), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, context.Canceled), errors.Is(err, mdb.ErrClientDisconnected), isSelectionError(err):
		return strongroom.Unavailable("store unavailable", fmt.Errorf("mongo: %s: %w", op, err))
	}
	return strongroom.Internal("mongo: "+op, err)
}

func isSelectionError(err error) bool {
	return strings.Contains(err.Error(), "server selection error")
}

func notFound(what string) error {
	return strongroom.Errorf(strongroom.KindNotFound, "%s not found", what)
}

// oid parses a hex id; a malformed one cannot exist, so it is not found.
func oid(id, what string) (bson.ObjectID, error) {
	o, err := bson.ObjectIDFromHex(id)
	if err != nil {
		return o, notFound(what)
	}
	return o, nil
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}
