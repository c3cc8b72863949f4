// Package service is Strongroom's one service layer: every rule about
// accounts, second factors, records and key rotation lives here, and both
// the HTTP API and the command line call it. It speaks in the root
// package's types and *strongroom.Error kinds; it never sees HTTP.
package service

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/audit"
	"github.com/strongroom/strongroom/envelope"
	"github.com/strongroom/strongroom/keycache"
	"github.com/strongroom/strongroom/passkey"
	"github.com/strongroom/strongroom/password"
	"github.com/strongroom/strongroom/ratelimit"
	"github.com/strongroom/strongroom/requestid"
	"github.com/strongroom/strongroom/revocation"
	"github.com/strongroom/strongroom/secret"
	"github.com/strongroom/strongroom/token"
)

// Config is what a Service is built from. Store, Keys, Mailer, Passwords,
// Tokens, OTPKey and Audit are required.
type Config struct {
	Store     strongroom.Store
	Keys      strongroom.KeyManager
	Mailer    strongroom.Mailer
	Passwords *password.Hasher
	Tokens    *token.Issuer
	// Audit records the security events (audit.go): there is no way to
	// run without an audit trail.
	Audit Auditor
	// OTPKey keys the stored hashes of one-time codes, challenges and
	// recovery codes (at least 32 bytes).
	OTPKey secret.Value
	// LoginRate is how many logins and registrations one client address
	// (an IPv4 address or an IPv6 /64) may start per minute, as many of
	// them at once; 0 means no such limit.
	LoginRate int
	// Lockout defaults to 5 failures and 15 minutes.
	Lockout strongroom.Lockout
	// KeyCache bounds the cache of unwrapped data keys (its Now is the
	// service's).
	KeyCache keycache.Config
	// RotationBatch is how many data keys are rewrapped per batch (500).
	RotationBatch int
	// RotationPause is slept between batches, to spare a busy system.
	RotationPause time.Duration
	// MaxRecordsPerUser and MaxBytesPerUser are each user's quota
	// (DefaultMaxRecords and DefaultMaxBytes if zero); bytes count the
	// stored encrypted_value.
	MaxRecordsPerUser int64
	MaxBytesPerUser   int64
	Now               func() time.Time
	Rand              io.Reader
	Log               *slog.Logger
	// Observer is told of logins, lockouts, codes and rotations, for
	// metrics; nil observes nothing.
	Observer Observer
}

// Service implements Strongroom's operations.
type Service struct {
	cfg    Config
	otpKey []byte // cfg.OTPKey's bytes
	store  strongroom.Store
	keys   strongroom.KeyManager
	deks   *keycache.Cache
	batch  *keycache.Batcher // the data-key cache's misses, to the key manager
	now    func() time.Time
	rand   io.Reader
	log    *slog.Logger
	obs    Observer // never nil
	// passkeys is the WebAuthn relying party; nil until UsePasskeys.
	passkeys *passkey.RP
	// The budgets of a login's second step are the account's, spent only
	// by whoever holds its challenge; what a bearer token asks for
	// (enrollment, changes) is counted per token, so a stolen token
	// cannot spend the owner's way in, nor the owner's next session.
	// Each limit is counted in the store, for every server on it.
	sendLogin     *ratelimit.Shared // login codes mailed per account
	sendChange    *ratelimit.Shared // codes mailed per token
	verifyLogin   *ratelimit.Shared // second factors checked per account, logging in
	verifyToken   *ratelimit.Shared // codes and passwords checked per token
	sendAddr      *ratelimit.Shared // send-otp calls per client address
	verifyAddr    *ratelimit.Shared // code checks per client address
	unlockAddr    *ratelimit.Shared // unlock tries per client address
	authAddr      *ratelimit.Shared // logins and registrations per client address; nil: none
	valuesRead    *ratelimit.Shared // record values read (one by one and in lists), per account
	valuesWritten *ratelimit.Shared // records created, updated and deleted, per account
	adminDenied   *ratelimit.Shared // administrators' requests refused, per account
	eventIDs      *audit.EventIDs   // the ids users see their audit events by
	refusals      *ratelimit.Tally  // logins and registrations refused for load

	// secondFactorLockout: 10 wrong second factors in a row lock the
	// second step for 15 minutes, counted in the store.
	secondFactorLockout strongroom.Lockout

	// ended is this replica's view of ended sessions (revocation).
	ended *revocation.List
	// deleting holds the ids of the accounts whose deletion has begun, as
	// of the last poll of ended sessions (revocationFeed): their tokens are
	// refused and their data keys are not cached.
	deleting   atomic.Pointer[map[string]struct{}]
	stop       context.CancelFunc // ends what Start began
	background sync.WaitGroup     // what Start began

	later sync.WaitGroup // notices being sent after their answer
}

// Stats are counters for operators and the benchmark harness.
type Stats struct {
	Unwraps     int64 `json:"keymanager_unwraps"`      // data keys the key manager unwrapped
	UnwrapCalls int64 `json:"keymanager_unwrap_calls"` // calls to the key manager that did (concurrent misses share one)
	// UnwrapsWaiting is how many data keys wait now for a key-manager
	// call, the calls out being at their bound (a slow key manager).
	UnwrapsWaiting int `json:"keymanager_unwraps_waiting"`
	KeysCached     int `json:"keys_cached"`       // unwrapped data keys in the cache now
	KeyCacheCap    int `json:"keycache_capacity"` // data keys the cache holds at most
	// KeyCacheHits and KeyCacheMisses count the lookups of data keys that
	// found the key cached, and those that had to unwrap it (or wait for
	// another lookup's unwrap).
	KeyCacheHits   uint64 `json:"keycache_hits"`
	KeyCacheMisses uint64 `json:"keycache_misses"`
	// EndedSessions is how many ended sessions, whose tokens have not
	// expired, this server refuses.
	EndedSessions int `json:"ended_sessions"`
}

// Stats returns the counters so far.
func (s *Service) Stats() Stats {
	hits, misses := s.deks.Stats()
	calls, unwraps := s.batch.Calls()
	return Stats{Unwraps: unwraps, UnwrapCalls: calls, UnwrapsWaiting: s.batch.Waiting(), KeysCached: s.deks.Len(), KeyCacheCap: s.deks.Capacity(),
		KeyCacheHits: hits, KeyCacheMisses: misses, EndedSessions: s.ended.Len()}
}

// New returns a Service, or an error naming the missing part.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Store == nil, cfg.Keys == nil, cfg.Mailer == nil, cfg.Passwords == nil, cfg.Tokens == nil, cfg.Audit == nil:
		return nil, errors.New("service: store, key manager, mailer, password hasher, token issuer and audit trail are required")
	case cfg.OTPKey.Len() < 32:
		return nil, errors.New("service: OTP key must be at least 32 bytes")
	}
	if cfg.Lockout.MaxFailures == 0 {
		cfg.Lockout = strongroom.Lockout{MaxFailures: 5, Window: 15 * time.Minute}
	}
	if cfg.MaxRecordsPerUser <= 0 {
		cfg.MaxRecordsPerUser = DefaultMaxRecords
	}
	if cfg.MaxBytesPerUser <= 0 {
		cfg.MaxBytesPerUser = DefaultMaxBytes
	}
	if cfg.RotationBatch <= 0 {
		cfg.RotationBatch = 500
	}
	if cfg.RotationPause > rotationLease/3 {
		return nil, fmt.Errorf("service: rotation pause must be at most %v", rotationLease/3)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Observer == nil {
		cfg.Observer = NopObserver{}
	}
	shared := func(name string, every time.Duration, burst int) *ratelimit.Shared {
		return ratelimit.NewShared(name, strongroom.Rate{Every: every, Burst: burst}, cfg.Store, cfg.Now)
	}
	var authAddr *ratelimit.Shared
	if cfg.LoginRate > 0 {
		authAddr = shared("auth-addr", time.Minute/time.Duration(cfg.LoginRate), cfg.LoginRate)
	}
	keyCache := cfg.KeyCache
	keyCache.Now = cfg.Now
	s := &Service{
		cfg:    cfg,
		otpKey: cfg.OTPKey.Bytes(),
		store:  cfg.Store,
		keys:   cfg.Keys,
		deks:   keycache.New(keyCache),
		batch:  keycache.NewBatcher(cfg.Keys, 0, 0),
		now:    cfg.Now,
		rand:   cfg.Rand,
		log:    requestid.Logger(cfg.Log), // a request's lines carry its id
		obs:    cfg.Observer,
		// At most 3 codes at once and 10 an hour per account, so asking for
		// new codes (each with 5 tries) does not buy many new guesses.
		sendLogin:  shared("send-login", 6*time.Minute, 3),
		sendChange: shared("send-change", 6*time.Minute, 3),
		sendAddr:   shared("send-addr", 6*time.Second, 10),
		// Per account, above the durable second-factor lockout (10 in a
		// row), which is what bounds guessing.
		verifyLogin: shared("verify-login", 30*time.Second, 20),
		verifyToken: shared("verify-token", 30*time.Second, 20),
		verifyAddr:  shared("verify-addr", 2*time.Second, 30),
		unlockAddr:  shared("unlock-addr", 6*time.Second, 10),
		authAddr:    authAddr,
		eventIDs:    audit.NewEventIDs(cfg.OTPKey.Bytes()),
		// A refused rotation is an audit event: 10 at once, then one a
		// minute, per account; past that 429, and no event.
		adminDenied: shared("admin-denied", time.Minute, 10),
		// Every value read (one by one or in a list) is a record.read
		// event in the audit trail: twice the quota at once, then the
		// quota a minute, so one account cannot make the trail grow
		// without bound. Each server lets an account read a fiftieth of
		// the budget a minute on credit before it asks the store, so most
		// reads cost no store write (ratelimit.Shared.WithCredit).
		valuesRead: shared("values-read", time.Minute/time.Duration(cfg.MaxRecordsPerUser), int(2*cfg.MaxRecordsPerUser)).
			WithCredit(int(2*cfg.MaxRecordsPerUser/50), time.Minute),
		// Each write is an audit event too: the same budget, of its own.
		valuesWritten: shared("values-written", time.Minute/time.Duration(cfg.MaxRecordsPerUser), int(2*cfg.MaxRecordsPerUser)).
			WithCredit(int(2*cfg.MaxRecordsPerUser/50), time.Minute),
		refusals: ratelimit.NewTally(cfg.Log, "logins and registrations refused for load", time.Minute),

		secondFactorLockout: strongroom.Lockout{MaxFailures: 10, Window: 15 * time.Minute},
	}
	s.deleting.Store(&map[string]struct{}{})
	s.ended = revocation.New(revocationFeed{s}, cfg.Now, s.sessionEnded)
	return s, nil
}

// Principal is the caller a bearer token names.
type Principal struct {
	UserID  string
	TokenID string
}

// Authenticate checks a bearer token and returns its principal, or a
// KindUnauthorized error. It costs no store round trip: the signature
// check is cached by the token issuer, and whether the token's session
// has ended is answered by this replica's view of ended sessions, which
// Start keeps up to date. While that view is stale (the store does not
// answer its polls) every token is refused with KindUnavailable, rather
// than one accepted that may have ended.
func (s *Service) Authenticate(bearer string) (*Principal, error) {
	c, err := s.cfg.Tokens.Verify(bearer)
	if err != nil || !strongroom.ValidID(c.Subject) || s.ended.Ended(c.ID) || s.beingDeleted(c.Subject) {
		return nil, errSessionEnded
	}
	if !s.ended.Fresh() {
		return nil, &strongroom.Error{Kind: strongroom.KindUnavailable, Message: "sessions cannot be checked right now; try again shortly",
			RetryAfter: time.Second}
	}
	return &Principal{UserID: c.Subject, TokenID: c.ID}, nil
}

// afterAnswer runs f in the background, so that the time a mail takes does
// not show in the answer: the failure that locks an account, and so mails
// its owner, answers as fast as one for a name without an account. f's
// context outlives the request's, and carries only its id and client
// address, for the log and the audit events.
func (s *Service) afterAnswer(reqCtx context.Context, f func(ctx context.Context)) {
	id, client := strongroom.RequestID(reqCtx), strongroom.ClientAddr(reqCtx)
	s.later.Add(1)
	go func() {
		defer s.later.Done()
		ctx := context.Background()
		if id != "" {
			ctx = strongroom.WithRequestID(ctx, id)
		}
		if client != "" {
			ctx = strongroom.WithClientAddr(ctx, client)
		}
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		f(ctx)
	}()
}

// Wait waits for the notices still being sent; call it before closing the
// store.
func (s *Service) Wait() { s.later.Wait() }

// Ready reports whether the store and the key manager answer.
func (s *Service) Ready(ctx context.Context) error {
	if err := s.store.Ping(ctx); err != nil {
		return err
	}
	return s.keys.Ping(ctx)
}

// limit applies a rate limiter to key: KindLocked with Retry-After when
// the budget is spent.
func (s *Service) limit(ctx context.Context, l *ratelimit.Shared, key, what string) error {
	return s.limitN(ctx, l, key, 1, what)
}

// limitN is limit for n events at once.
func (s *Service) limitN(ctx context.Context, l *ratelimit.Shared, key string, n int, what string) error {
	ok, wait, err := l.AllowN(ctx, key, n)
	if err != nil {
		return err
	}
	if !ok {
		return tooMany(what, wait)
	}
	return nil
}

// tooMany is the answer past a limit: KindLocked, with Retry-After.
func tooMany(what string, wait time.Duration) error {
	return &strongroom.Error{Kind: strongroom.KindLocked, Message: "too many " + what + "; try again later", RetryAfter: wait}
}

// isAdmin: administrators are the first account of an empty store and
// those an operator granted (strongroom admin grant); registering never
// makes one otherwise.
func (s *Service) isAdmin(u *strongroom.User) bool { return u.IsAdmin }

// dek returns a copy of the user's data key, from the cache or unwrapped
// (in a key-manager call that concurrent misses share). The caller zeroes
// it after use.
func (s *Service) dek(ctx context.Context, userID string) (*envelope.Key, error) {
	return s.deks.Get(ctx, userID, func(ctx context.Context) ([]byte, error) {
		w, err := s.store.UserKey(ctx, userID)
		if err != nil {
			if strongroom.IsKind(err, strongroom.KindNotFound) {
				return nil, strongroom.Errorf(strongroom.KindUnauthorized, "invalid or expired token")
			}
			return nil, err
		}
		return s.batch.Unwrap(ctx, strongroom.UserKey{UserID: userID, Key: w})
	})
}
