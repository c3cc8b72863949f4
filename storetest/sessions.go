package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
)

// newSession returns a live session of u made at created, for an hour.
func newSession(u *strongroom.User, created time.Time) *strongroom.Session {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return &strongroom.Session{ID: hex.EncodeToString(b[:]), UserID: u.ID, CreatedAt: created, ExpiresAt: created.Add(time.Hour),
		Client: "192.0.2.7", UserAgent: "storetest/1.0"}
}

// mustSession stores s at the user's current sessions epoch.
func mustSession(t *testing.T, s strongroom.Store, sess *strongroom.Session) *strongroom.Session {
	t.Helper()
	u, err := s.UserByID(context.Background(), sess.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(context.Background(), sess, u.SessionsEpoch); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return sess
}

// liveIDs returns the ids of the user's sessions live at now, in the
// store's order.
func liveIDs(t *testing.T, s strongroom.Store, userID string, now time.Time) []string {
	t.Helper()
	list, err := s.Sessions(context.Background(), userID, now, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return sessionIDs(list)
}

func sessionIDs(list []*strongroom.Session) []string {
	ids := []string{}
	for _, x := range list {
		ids = append(ids, x.ID)
	}
	return ids
}

func sorted(ids []string) []string {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return ids
}

// sameSession compares every field.
func sameSession(t *testing.T, got, want *strongroom.Session, what string) {
	t.Helper()
	if got == nil || got.ID != want.ID || got.UserID != want.UserID || !got.CreatedAt.Equal(want.CreatedAt) ||
		!got.ExpiresAt.Equal(want.ExpiresAt) || got.Client != want.Client || got.UserAgent != want.UserAgent ||
		!got.EndedAt.Equal(want.EndedAt) || got.EndReason != want.EndReason {
		t.Fatalf("%s: %+v, want %+v", what, got, want)
	}
}

func wantSessionsEnded(t *testing.T, err error, what string) {
	t.Helper()
	if !errors.Is(err, strongroom.ErrSessionsEnded) || !strongroom.IsKind(err, strongroom.KindConflict) {
		t.Fatalf("%s: %v, want ErrSessionsEnded", what, err)
	}
}

func epochOf(t *testing.T, s strongroom.Store, userID string) int64 {
	t.Helper()
	u, err := s.UserByID(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return u.SessionsEpoch
}

// testSessions: sessions are stored as given and listed newest first (id
// breaking ties), only the user's, only live ones, up to the limit; a
// taken id is a conflict, an unknown user ends the login.
func testSessions(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	u, other := MustCreateUser(t, s, "sessions"), MustCreateUser(t, s, "othersessions")
	if u.SessionsEpoch != 0 || !u.DeletedAt.IsZero() {
		t.Fatalf("a new user has epoch %d, deleted at %v", u.SessionsEpoch, u.DeletedAt)
	}
	if got, err := s.UserByID(ctx, u.ID); err != nil || got.SessionsEpoch != 0 || !got.DeletedAt.IsZero() {
		t.Fatalf("a new user reads back as %+v, %v", got, err)
	}
	a := mustSession(t, s, newSession(u, t0))
	b := mustSession(t, s, newSession(u, t0.Add(time.Minute)))
	c := mustSession(t, s, newSession(u, t0.Add(time.Minute))) // the same millisecond as b
	d := mustSession(t, s, newSession(u, t0.Add(2*time.Minute)))
	expired := newSession(u, t0.Add(-2*time.Hour))
	mustSession(t, s, expired)
	mustSession(t, s, newSession(other, t0.Add(3*time.Minute)))
	tomb := newSession(u, t0.Add(4*time.Minute))
	tomb.EndedAt, tomb.EndReason = t0.Add(5*time.Minute), strongroom.EndLogout
	mustSession(t, s, tomb)

	now := t0.Add(10 * time.Minute)
	bc := []string{b.ID, c.ID}
	if b.ID < c.ID {
		bc = []string{c.ID, b.ID}
	}
	want := append(append([]string{d.ID}, bc...), a.ID)
	if got := liveIDs(t, s, u.ID, now); !slices.Equal(got, want) {
		t.Fatalf("Sessions = %v, want newest first, live and the user's only: %v", got, want)
	}
	list, err := s.Sessions(ctx, u.ID, now, 2)
	if err != nil || !slices.Equal(sessionIDs(list), want[:2]) {
		t.Fatalf("Sessions with limit 2 = %v, %v; want %v", sessionIDs(list), err, want[:2])
	}
	sameSession(t, list[0], d, "a listed session")
	// At a's expiry a is no longer live.
	if got := liveIDs(t, s, u.ID, a.ExpiresAt); !slices.Equal(got, want[:3]) {
		t.Fatalf("Sessions at a's expiry = %v, want %v", got, want[:3])
	}
	if got := liveIDs(t, s, strongroom.NewID(t0), now); len(got) != 0 {
		t.Fatalf("an unknown user has sessions %v", got)
	}

	// The tombstone is not live, and replicas see it end.
	ended, err := s.EndedSessions(ctx, t0)
	if err != nil || len(ended) != 1 {
		t.Fatalf("EndedSessions = %v, %v; want the tombstone", sessionIDs(ended), err)
	}
	sameSession(t, ended[0], tomb, "the tombstone")

	dup := newSession(u, t0)
	dup.ID = a.ID
	err = s.CreateSession(ctx, dup, 0)
	wantKind(t, err, strongroom.KindConflict, "a taken session id")
	if errors.Is(err, strongroom.ErrSessionsEnded) {
		t.Fatalf("a taken id reported as ErrSessionsEnded")
	}
	ghost := &strongroom.User{ID: strongroom.NewID(t0)}
	wantSessionsEnded(t, s.CreateSession(ctx, newSession(ghost, t0), 0), "a session of an unknown user")
	if got := liveIDs(t, s, ghost.ID, now); len(got) != 0 {
		t.Fatalf("an unknown user's session was stored live: %v", got)
	}
}

// testEndSession: a user ends one live session of theirs; another user's,
// an ended, an expired or an unknown one is not found.
func testEndSession(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	u, other := MustCreateUser(t, s, "ender"), MustCreateUser(t, s, "bystander")
	a := mustSession(t, s, newSession(u, t0))
	b := mustSession(t, s, newSession(u, t0.Add(time.Second)))
	o := mustSession(t, s, newSession(other, t0))
	now := t0.Add(time.Minute)

	got, err := s.EndSession(ctx, u.ID, a.ID, strongroom.EndLogout, now)
	if err != nil {
		t.Fatal(err)
	}
	want := *a
	want.EndedAt, want.EndReason = now, strongroom.EndLogout
	sameSession(t, got, &want, "the ended session")
	if ids := liveIDs(t, s, u.ID, now); !slices.Equal(ids, []string{b.ID}) {
		t.Fatalf("live after EndSession: %v, want only %s", ids, b.ID)
	}
	_, err = s.EndSession(ctx, u.ID, a.ID, strongroom.EndRevoked, now.Add(time.Second))
	wantKind(t, err, strongroom.KindNotFound, "ending an ended session")
	_, err = s.EndSession(ctx, u.ID, o.ID, strongroom.EndRevoked, now)
	wantKind(t, err, strongroom.KindNotFound, "ending another user's session")
	if ids := liveIDs(t, s, other.ID, now); !slices.Equal(ids, []string{o.ID}) {
		t.Fatalf("another user's session was ended: live %v", ids)
	}
	_, err = s.EndSession(ctx, u.ID, newSession(u, t0).ID, strongroom.EndRevoked, now)
	wantKind(t, err, strongroom.KindNotFound, "ending an unknown session")
	_, err = s.EndSession(ctx, u.ID, b.ID, strongroom.EndRevoked, b.ExpiresAt)
	wantKind(t, err, strongroom.KindNotFound, "ending an expired session")
	ended, err := s.EndedSessions(ctx, t0)
	if err != nil || len(ended) != 1 {
		t.Fatalf("EndedSessions = %v, %v; want the one ended", sessionIDs(ended), err)
	}
	sameSession(t, ended[0], &want, "the ended session, polled")
}

// testEndSessions: all the user's sessions but keep end and are returned,
// the epoch moves on so a login from an older read cannot add one, and the
// user's login challenge goes while other challenges stay.
func testEndSessions(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	u, other := MustCreateUser(t, s, "everywhere"), MustCreateUser(t, s, "elsewhere")
	a := mustSession(t, s, newSession(u, t0))
	keep := mustSession(t, s, newSession(u, t0.Add(time.Second)))
	c := mustSession(t, s, newSession(u, t0.Add(2*time.Second)))
	old := newSession(u, t0.Add(-2*time.Hour)) // expired: not ended, not returned
	mustSession(t, s, old)
	o := mustSession(t, s, newSession(other, t0))
	for _, ch := range []*strongroom.Challenge{
		newChallenge(u, strongroom.PurposeLogin, "hl", t0), newChallenge(u, strongroom.PurposeEnroll, "he", t0),
		newChallenge(other, strongroom.PurposeLogin, "ho", t0),
	} {
		if err := s.PutChallenge(ctx, ch); err != nil {
			t.Fatal(err)
		}
	}
	before := epochOf(t, s, u.ID)
	now := t0.Add(time.Minute)

	ended, err := s.EndSessions(ctx, u.ID, keep.ID, strongroom.EndTwoFactorOff, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := sorted(sessionIDs(ended)); !slices.Equal(got, sorted([]string{a.ID, c.ID})) {
		t.Fatalf("EndSessions returned %v, want %s and %s", got, a.ID, c.ID)
	}
	for _, x := range ended {
		want := *a
		if x.ID == c.ID {
			want = *c
		}
		want.EndedAt, want.EndReason = now, strongroom.EndTwoFactorOff
		sameSession(t, x, &want, "a session EndSessions ended")
	}
	if ids := liveIDs(t, s, u.ID, now); !slices.Equal(ids, []string{keep.ID}) {
		t.Fatalf("live after EndSessions: %v, want only the kept %s", ids, keep.ID)
	}
	if ids := liveIDs(t, s, other.ID, now); !slices.Equal(ids, []string{o.ID}) {
		t.Fatalf("another user's sessions after EndSessions: %v", ids)
	}
	after := epochOf(t, s, u.ID)
	if after <= before {
		t.Fatalf("the sessions epoch went from %d to %d; want it moved on", before, after)
	}
	if epochOf(t, s, other.ID) != 0 {
		t.Fatal("another user's epoch moved")
	}
	_, err = s.Challenge(ctx, u.ID, strongroom.PurposeLogin, now)
	wantKind(t, err, strongroom.KindNotFound, "the user's login challenge after EndSessions")
	if _, err := s.Challenge(ctx, u.ID, strongroom.PurposeEnroll, now); err != nil {
		t.Fatalf("the user's enroll challenge went too: %v", err)
	}
	if _, err := s.Challenge(ctx, other.ID, strongroom.PurposeLogin, now); err != nil {
		t.Fatalf("another user's login challenge went: %v", err)
	}

	// A login that read the user before the call cannot add a session.
	late := newSession(u, now.Add(time.Second))
	wantSessionsEnded(t, s.CreateSession(ctx, late, before), "a session from a read before EndSessions")
	if ids := liveIDs(t, s, u.ID, now.Add(2*time.Second)); !slices.Equal(ids, []string{keep.ID}) {
		t.Fatalf("live after a refused session: %v", ids)
	}
	fresh := newSession(u, now.Add(time.Second))
	if err := s.CreateSession(ctx, fresh, after); err != nil {
		t.Fatalf("a session at the new epoch: %v", err)
	}

	// With no keep, every live session ends; ended ones are not ended again.
	later := now.Add(time.Minute)
	ended, err = s.EndSessions(ctx, u.ID, "", strongroom.EndAccountDeleted, later)
	if err != nil {
		t.Fatal(err)
	}
	if got := sorted(sessionIDs(ended)); !slices.Equal(got, sorted([]string{keep.ID, fresh.ID})) {
		t.Fatalf("EndSessions without keep returned %v, want %s and %s", got, keep.ID, fresh.ID)
	}
	if ids := liveIDs(t, s, u.ID, later); len(ids) != 0 {
		t.Fatalf("live after ending all: %v", ids)
	}
	if ended, err := s.EndSessions(ctx, u.ID, "", strongroom.EndAccountDeleted, later); err != nil || len(ended) != 0 {
		t.Fatalf("EndSessions with nothing live = %v, %v", sessionIDs(ended), err)
	}
	// The first ends keep their time and reason.
	polled, err := s.EndedSessions(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range polled {
		if x.ID == a.ID && (!x.EndedAt.Equal(now) || x.EndReason != strongroom.EndTwoFactorOff) {
			t.Fatalf("an ended session was ended again: %+v", x)
		}
	}
}

// testSetPassword: the hash and salt change and the epoch moves on in one
// step, and every other session of the user ends.
func testSetPassword(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	u := MustCreateUser(t, s, "rekeyed")
	keep := mustSession(t, s, newSession(u, t0))
	b := mustSession(t, s, newSession(u, t0.Add(time.Second)))
	if err := s.PutChallenge(ctx, newChallenge(u, strongroom.PurposeLogin, "hl", t0)); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(time.Minute)
	_, err := s.SetPassword(ctx, u.ID, "$2a$12$newhash", "ffeeddccbbaa99887766554433221100", keep.ID, u.SessionsEpoch+1, now)
	wantSessionsEnded(t, err, "SetPassword at an epoch that is not the user's")
	if got, err := s.UserByID(ctx, u.ID); err != nil || got.HashedPassword != u.HashedPassword || got.SessionsEpoch != u.SessionsEpoch {
		t.Fatalf("a refused SetPassword changed the user: %+v, %v", got, err)
	}
	if ids := liveIDs(t, s, u.ID, now); len(ids) != 2 {
		t.Fatalf("a refused SetPassword ended sessions: live %v", ids)
	}
	ended, err := s.SetPassword(ctx, u.ID, "$2a$12$newhash", "ffeeddccbbaa99887766554433221100", keep.ID, u.SessionsEpoch, now)
	if err != nil {
		t.Fatal(err)
	}
	want := *b
	want.EndedAt, want.EndReason = now, strongroom.EndPasswordChanged
	if len(ended) != 1 {
		t.Fatalf("SetPassword ended %v, want %s", sessionIDs(ended), b.ID)
	}
	sameSession(t, ended[0], &want, "the session SetPassword ended")
	got, err := s.UserByID(ctx, u.ID)
	if err != nil || got.HashedPassword != "$2a$12$newhash" || got.Salt != "ffeeddccbbaa99887766554433221100" {
		t.Fatalf("after SetPassword: %+v, %v", got, err)
	}
	if got.SessionsEpoch <= u.SessionsEpoch {
		t.Fatalf("SetPassword left the epoch at %d", got.SessionsEpoch)
	}
	if ids := liveIDs(t, s, u.ID, now); !slices.Equal(ids, []string{keep.ID}) {
		t.Fatalf("live after SetPassword: %v, want the kept %s", ids, keep.ID)
	}
	_, err = s.Challenge(ctx, u.ID, strongroom.PurposeLogin, now)
	wantKind(t, err, strongroom.KindNotFound, "a login challenge after SetPassword")
	wantSessionsEnded(t, s.CreateSession(ctx, newSession(u, now), u.SessionsEpoch), "a session from a read before SetPassword")
	if err := s.CreateSession(ctx, newSession(u, now), got.SessionsEpoch); err != nil {
		t.Fatalf("a session after SetPassword: %v", err)
	}
	_, err = s.SetPassword(ctx, u.ID, "h2", "s2", keep.ID, u.SessionsEpoch, now)
	wantSessionsEnded(t, err, "a second SetPassword from the read before the first")
	_, err = s.SetPassword(ctx, strongroom.NewID(t0), "h", "s", "", 0, now)
	wantKind(t, err, strongroom.KindNotFound, "SetPassword of an unknown user")
}

// testEndedSessions: the poll returns the sessions of every user that ended
// at or after since, oldest end first.
func testEndedSessions(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	u, other := MustCreateUser(t, s, "polled"), MustCreateUser(t, s, "polledtoo")
	var want []string
	for i, owner := range []*strongroom.User{u, other, u} {
		x := mustSession(t, s, newSession(owner, t0))
		if _, err := s.EndSession(ctx, owner.ID, x.ID, strongroom.EndRevoked, t0.Add(time.Duration(3-i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
		want = append([]string{x.ID}, want...) // ended in reverse order of creation
	}
	mustSession(t, s, newSession(u, t0)) // live: never polled
	for _, c := range []struct {
		since time.Time
		want  []string
	}{
		{t0, want},
		{t0.Add(time.Minute), want},
		{t0.Add(2 * time.Minute), want[1:]},
		{t0.Add(2*time.Minute + time.Millisecond), want[2:]},
		{t0.Add(3*time.Minute + time.Millisecond), []string{}},
	} {
		got, err := s.EndedSessions(ctx, c.since)
		if err != nil || !slices.Equal(sessionIDs(got), c.want) {
			t.Fatalf("EndedSessions(%v) = %v, %v; want %v", c.since, sessionIDs(got), err, c.want)
		}
	}
}

// testPurgeSessions: the sessions, live or ended, that expired before the
// time go, and no others.
func testPurgeSessions(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	u := MustCreateUser(t, s, "purged")
	at := func(expires time.Time, ended bool) *strongroom.Session {
		x := newSession(u, expires.Add(-time.Hour))
		if ended {
			x.EndedAt, x.EndReason = x.CreatedAt.Add(time.Second), strongroom.EndLogout
		}
		return mustSession(t, s, x)
	}
	cut := t0.Add(30 * time.Minute)
	liveGone, endedGone := at(t0.Add(10*time.Minute), false), at(t0.Add(5*time.Minute), true)
	liveKept, endedKept, edge := at(t0.Add(time.Hour), false), at(t0.Add(2*time.Hour), true), at(cut, false)
	n, err := s.PurgeSessions(ctx, cut)
	if err != nil || n != 2 {
		t.Fatalf("PurgeSessions = %d, %v; want 2", n, err)
	}
	if ids := liveIDs(t, s, u.ID, t0); !slices.Equal(sorted(ids), sorted([]string{liveKept.ID, edge.ID})) {
		t.Fatalf("live after the purge: %v; want %s and %s (not %s)", ids, liveKept.ID, edge.ID, liveGone.ID)
	}
	if ended, err := s.EndedSessions(ctx, time.Time{}); err != nil || !slices.Equal(sessionIDs(ended), []string{endedKept.ID}) {
		t.Fatalf("ended after the purge: %v, %v; want %s (not %s)", sessionIDs(ended), err, endedKept.ID, endedGone.ID)
	}
	if n, err := s.PurgeSessions(ctx, cut); err != nil || n != 0 {
		t.Fatalf("a second purge = %d, %v", n, err)
	}
}

// testConcurrentSessionsEnd: logins that read the user before an
// EndSessions race it. A login whose CreateSession succeeded stored its
// session before the end, so EndSessions ended it and returned it; every
// other was refused. Either way no session made at the old epoch is live
// afterwards, and as the epoch moved on, no session is live at all.
func testConcurrentSessionsEnd(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	u := MustCreateUser(t, s, "racedlogins")
	now := t0.Add(time.Minute)
	var made, refused int
	for round := range 5 {
		epoch := epochOf(t, s, u.ID)
		const n = 24
		errs := make([]error, n)
		tried := make([]*strongroom.Session, n)
		var ended []*strongroom.Session
		var endErr error
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			tried[i] = newSession(u, now)
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = s.CreateSession(ctx, tried[i], epoch)
			}()
			if i == n/3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					ended, endErr = s.EndSessions(ctx, u.ID, "", strongroom.EndPasswordChanged, now)
				}()
			}
		}
		close(start)
		wg.Wait()
		if endErr != nil {
			t.Fatal(endErr)
		}
		returned := map[string]bool{}
		for _, x := range ended {
			returned[x.ID] = true
		}
		for i, err := range errs {
			switch {
			case err == nil:
				made++
				if !returned[tried[i].ID] {
					t.Fatalf("round %d: session %s was made, yet EndSessions did not end it", round, tried[i].ID)
				}
			case errors.Is(err, strongroom.ErrSessionsEnded):
				refused++
			default:
				t.Fatalf("round %d: CreateSession: %v", round, err)
			}
		}
		if ids := liveIDs(t, s, u.ID, now); len(ids) != 0 {
			t.Fatalf("round %d: sessions made at epoch %d are live after EndSessions moved it to %d: %v",
				round, epoch, epochOf(t, s, u.ID), ids)
		}
		if epochOf(t, s, u.ID) <= epoch {
			t.Fatalf("round %d: the epoch did not move", round)
		}
	}
	t.Logf("%d sessions made before the end (and ended by it), %d refused after it", made, refused)
	// At the current epoch, a login works.
	if err := s.CreateSession(ctx, newSession(u, now), epochOf(t, s, u.ID)); err != nil {
		t.Fatal(err)
	}
}
