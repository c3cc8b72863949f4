package metrics

import (
	"context"
	"time"

	"github.com/strongroom/strongroom"
)

// Store returns s with each call timed by operation (the method's name in
// snake case: user_by_username, create_record...), and each error counted
// by operation and kind. The service gets the wrapped store; the store
// itself (with its own extras, such as SQLite's commit counters) stays as
// it was for whoever holds it.
//
// Every method of strongroom.Store is timed here. The interface is
// embedded only so that a method added to it later still compiles and
// passes through, untimed, until it is added here; a test lists every
// method the wrapper does not time.
func (m *Metrics) Store(s strongroom.Store) strongroom.Store {
	return &store{Store: s, m: m}
}

type store struct {
	strongroom.Store
	m *Metrics
}

// done records a call that began at start and ended with *err. Deferred,
// it records a call that panicked too.
func (st *store) done(op string, start time.Time, err *error) {
	st.m.storeDuration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if *err != nil {
		st.m.storeErrors.WithLabelValues(op, string(strongroom.ErrorKind(*err))).Inc()
	}
}

func (st *store) BeginRotation(ctx context.Context, owner string, now time.Time, ttl time.Duration) (_ strongroom.Rotation, err error) {
	defer st.done("begin_rotation", time.Now(), &err)
	return st.Store.BeginRotation(ctx, owner, now, ttl)
}

func (st *store) Challenge(ctx context.Context, userID string, purpose strongroom.Purpose, now time.Time) (_ *strongroom.Challenge, err error) {
	defer st.done("challenge", time.Now(), &err)
	return st.Store.Challenge(ctx, userID, purpose, now)
}

func (st *store) ChallengeByLookup(ctx context.Context, lookupHash string, now time.Time) (_ *strongroom.Challenge, err error) {
	defer st.done("challenge_by_lookup", time.Now(), &err)
	return st.Store.ChallengeByLookup(ctx, lookupHash, now)
}

func (st *store) ClaimChallengeAttempt(ctx context.Context, id string, now time.Time, max int) (err error) {
	defer st.done("claim_challenge_attempt", time.Now(), &err)
	return st.Store.ClaimChallengeAttempt(ctx, id, now, max)
}

func (st *store) ClaimLoginAttempt(ctx context.Context, userID string, now time.Time, policy strongroom.Lockout) (_ int, err error) {
	defer st.done("claim_login_attempt", time.Now(), &err)
	return st.Store.ClaimLoginAttempt(ctx, userID, now, policy)
}

func (st *store) ClaimSecondFactorAttempt(ctx context.Context, userID string, now time.Time, policy strongroom.Lockout) (_ int, err error) {
	defer st.done("claim_second_factor_attempt", time.Now(), &err)
	return st.Store.ClaimSecondFactorAttempt(ctx, userID, now, policy)
}

func (st *store) ClaimUnknownLoginAttempt(ctx context.Context, username string, now time.Time, policy strongroom.Lockout) (err error) {
	defer st.done("claim_unknown_login_attempt", time.Now(), &err)
	return st.Store.ClaimUnknownLoginAttempt(ctx, username, now, policy)
}

func (st *store) ConsumeChallenge(ctx context.Context, id string) (err error) {
	defer st.done("consume_challenge", time.Now(), &err)
	return st.Store.ConsumeChallenge(ctx, id)
}

func (st *store) CountKeysBelowVersion(ctx context.Context, version int) (_ int, err error) {
	defer st.done("count_keys_below_version", time.Now(), &err)
	return st.Store.CountKeysBelowVersion(ctx, version)
}

func (st *store) CreateRecord(ctx context.Context, r *strongroom.Record, q strongroom.Quota) (err error) {
	defer st.done("create_record", time.Now(), &err)
	return st.Store.CreateRecord(ctx, r, q)
}

func (st *store) CreateSession(ctx context.Context, s *strongroom.Session, epoch int64) (err error) {
	defer st.done("create_session", time.Now(), &err)
	return st.Store.CreateSession(ctx, s, epoch)
}

func (st *store) CreateUser(ctx context.Context, u *strongroom.User, key strongroom.WrappedKey, firstIsAdmin bool) (err error) {
	defer st.done("create_user", time.Now(), &err)
	return st.Store.CreateUser(ctx, u, key, firstIsAdmin)
}

func (st *store) DeleteRecord(ctx context.Context, userID, id string) (err error) {
	defer st.done("delete_record", time.Now(), &err)
	return st.Store.DeleteRecord(ctx, userID, id)
}

func (st *store) DeleteUser(ctx context.Context, userID string) (_ int, err error) {
	defer st.done("delete_user", time.Now(), &err)
	return st.Store.DeleteUser(ctx, userID)
}

func (st *store) DestroyUserKey(ctx context.Context, userID string, now time.Time) (err error) {
	defer st.done("destroy_user_key", time.Now(), &err)
	return st.Store.DestroyUserKey(ctx, userID, now)
}

func (st *store) EndSession(ctx context.Context, userID, id string, reason strongroom.EndReason, now time.Time) (_ *strongroom.Session, err error) {
	defer st.done("end_session", time.Now(), &err)
	return st.Store.EndSession(ctx, userID, id, reason, now)
}

func (st *store) EndSessions(ctx context.Context, userID, keep string, reason strongroom.EndReason, now time.Time) (_ []*strongroom.Session, err error) {
	defer st.done("end_sessions", time.Now(), &err)
	return st.Store.EndSessions(ctx, userID, keep, reason, now)
}

func (st *store) EndedSessions(ctx context.Context, since time.Time) (_ []*strongroom.Session, err error) {
	defer st.done("ended_sessions", time.Now(), &err)
	return st.Store.EndedSessions(ctx, since)
}

func (st *store) KeysBelowVersion(ctx context.Context, version, limit int) (_ []strongroom.UserKey, err error) {
	defer st.done("keys_below_version", time.Now(), &err)
	return st.Store.KeysBelowVersion(ctx, version, limit)
}

func (st *store) Ping(ctx context.Context) (err error) {
	defer st.done("ping", time.Now(), &err)
	return st.Store.Ping(ctx)
}

func (st *store) PurgeSessions(ctx context.Context, before time.Time) (_ int, err error) {
	defer st.done("purge_sessions", time.Now(), &err)
	return st.Store.PurgeSessions(ctx, before)
}

func (st *store) PutChallenge(ctx context.Context, c *strongroom.Challenge) (err error) {
	defer st.done("put_challenge", time.Now(), &err)
	return st.Store.PutChallenge(ctx, c)
}

func (st *store) Record(ctx context.Context, userID, id string) (_ *strongroom.Record, err error) {
	defer st.done("record", time.Now(), &err)
	return st.Store.Record(ctx, userID, id)
}

func (st *store) RecordCursors(ctx context.Context, userID string, after strongroom.RecordCursor, limit int) (_ []strongroom.RecordCursor, err error) {
	defer st.done("record_cursors", time.Now(), &err)
	return st.Store.RecordCursors(ctx, userID, after, limit)
}

func (st *store) TakeLimit(ctx context.Context, key string, r strongroom.Rate, n int, now time.Time) (ok bool, full time.Time, err error) {
	defer st.done("take_limit", time.Now(), &err)
	return st.Store.TakeLimit(ctx, key, r, n, now)
}

func (st *store) RecordUsage(ctx context.Context, userID string) (_ strongroom.Usage, err error) {
	defer st.done("record_usage", time.Now(), &err)
	return st.Store.RecordUsage(ctx, userID)
}

func (st *store) Records(ctx context.Context, userID string, after strongroom.RecordCursor, limit int) (_ []*strongroom.Record, err error) {
	defer st.done("records", time.Now(), &err)
	return st.Store.Records(ctx, userID, after, limit)
}

func (st *store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string) (err error) {
	defer st.done("replace_recovery_codes", time.Now(), &err)
	return st.Store.ReplaceRecoveryCodes(ctx, userID, hashes)
}

func (st *store) ResetLoginFailures(ctx context.Context, userID string) (err error) {
	defer st.done("reset_login_failures", time.Now(), &err)
	return st.Store.ResetLoginFailures(ctx, userID)
}

func (st *store) ResetSecondFactorFailures(ctx context.Context, userID string) (err error) {
	defer st.done("reset_second_factor_failures", time.Now(), &err)
	return st.Store.ResetSecondFactorFailures(ctx, userID)
}

func (st *store) Rotation(ctx context.Context) (_ strongroom.Rotation, err error) {
	defer st.done("rotation", time.Now(), &err)
	return st.Store.Rotation(ctx)
}

func (st *store) SaveRotation(ctx context.Context, owner string, r strongroom.Rotation, now time.Time, ttl time.Duration) (err error) {
	defer st.done("save_rotation", time.Now(), &err)
	return st.Store.SaveRotation(ctx, owner, r, now, ttl)
}

func (st *store) Sessions(ctx context.Context, userID string, now time.Time, limit int) (_ []*strongroom.Session, err error) {
	defer st.done("sessions", time.Now(), &err)
	return st.Store.Sessions(ctx, userID, now, limit)
}

func (st *store) SetAdmin(ctx context.Context, username string, admin bool) (err error) {
	defer st.done("set_admin", time.Now(), &err)
	return st.Store.SetAdmin(ctx, username, admin)
}

func (st *store) SetChallengeCode(ctx context.Context, id, codeHash string) (err error) {
	defer st.done("set_challenge_code", time.Now(), &err)
	return st.Store.SetChallengeCode(ctx, id, codeHash)
}

func (st *store) SetPassword(ctx context.Context, userID, hash, salt, keep string, epoch int64, now time.Time) (_ []*strongroom.Session, err error) {
	defer st.done("set_password", time.Now(), &err)
	return st.Store.SetPassword(ctx, userID, hash, salt, keep, epoch, now)
}

func (st *store) SetSecondFactors(ctx context.Context, userID string, from int64, f strongroom.SecondFactors) (err error) {
	defer st.done("set_second_factors", time.Now(), &err)
	return st.Store.SetSecondFactors(ctx, userID, from, f)
}

func (st *store) UpdateKeys(ctx context.Context, updates []strongroom.KeyUpdate) (_ int, err error) {
	defer st.done("update_keys", time.Now(), &err)
	return st.Store.UpdateKeys(ctx, updates)
}

func (st *store) UpdateRecord(ctx context.Context, r *strongroom.Record, q strongroom.Quota) (err error) {
	defer st.done("update_record", time.Now(), &err)
	return st.Store.UpdateRecord(ctx, r, q)
}

func (st *store) UseRecoveryCode(ctx context.Context, userID, hash string) (err error) {
	defer st.done("use_recovery_code", time.Now(), &err)
	return st.Store.UseRecoveryCode(ctx, userID, hash)
}

func (st *store) UseTOTPStep(ctx context.Context, userID string, step int64) (err error) {
	defer st.done("use_totp_step", time.Now(), &err)
	return st.Store.UseTOTPStep(ctx, userID, step)
}

func (st *store) UserByID(ctx context.Context, id string) (_ *strongroom.User, err error) {
	defer st.done("user_by_id", time.Now(), &err)
	return st.Store.UserByID(ctx, id)
}

func (st *store) UserByUsername(ctx context.Context, username string) (_ *strongroom.User, err error) {
	defer st.done("user_by_username", time.Now(), &err)
	return st.Store.UserByUsername(ctx, username)
}

func (st *store) UserKey(ctx context.Context, userID string) (_ strongroom.WrappedKey, err error) {
	defer st.done("user_key", time.Now(), &err)
	return st.Store.UserKey(ctx, userID)
}

func (st *store) UsersBeingDeleted(ctx context.Context, limit int) (_ []*strongroom.User, err error) {
	defer st.done("users_being_deleted", time.Now(), &err)
	return st.Store.UsersBeingDeleted(ctx, limit)
}

func (st *store) AddPasskey(ctx context.Context, p *strongroom.Passkey, max int) (err error) {
	defer st.done("add_passkey", time.Now(), &err)
	return st.Store.AddPasskey(ctx, p, max)
}

func (st *store) Passkeys(ctx context.Context, userID string) (_ []*strongroom.Passkey, err error) {
	defer st.done("passkeys", time.Now(), &err)
	return st.Store.Passkeys(ctx, userID)
}

func (st *store) PasskeyByCredential(ctx context.Context, credentialID []byte) (_ *strongroom.Passkey, err error) {
	defer st.done("passkey_by_credential", time.Now(), &err)
	return st.Store.PasskeyByCredential(ctx, credentialID)
}

func (st *store) UsePasskey(ctx context.Context, userID, id string, from, signCount uint32, backupState bool, at time.Time) (err error) {
	defer st.done("use_passkey", time.Now(), &err)
	return st.Store.UsePasskey(ctx, userID, id, from, signCount, backupState, at)
}

func (st *store) DeletePasskey(ctx context.Context, userID, id string) (err error) {
	defer st.done("delete_passkey", time.Now(), &err)
	return st.Store.DeletePasskey(ctx, userID, id)
}

func (st *store) PutCeremony(ctx context.Context, hash string, now, expires time.Time) (err error) {
	defer st.done("put_ceremony", time.Now(), &err)
	return st.Store.PutCeremony(ctx, hash, now, expires)
}

func (st *store) TakeCeremony(ctx context.Context, hash string, now time.Time) (err error) {
	defer st.done("take_ceremony", time.Now(), &err)
	return st.Store.TakeCeremony(ctx, hash, now)
}
