package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/internal/periodic"
	"github.com/strongroom/strongroom/revocation"
)

// SyncInterval is how often each replica polls the store for ended
// sessions: a session ended on one replica is refused by the others
// within about this long (see package revocation).
const SyncInterval = 250 * time.Millisecond

// MaxListedSessions bounds GET /sessions.
const MaxListedSessions = 100

// errSessionEnded answers a token whose session has ended.
var errSessionEnded = strongroom.Errorf(strongroom.KindUnauthorized, "invalid or expired token")

// Start brings the view of ended sessions up to date, so a restarted
// replica refuses them from its first request, and then keeps it so in
// the background, with the housekeeping of sessions and deletions, until
// Stop. Until Start, Authenticate refuses every token.
func (s *Service) Start(ctx context.Context) error {
	if err := s.ended.Sync(ctx); err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	s.finishDeletions(ctx, 0) // a server that starts completes whatever a crash left
	// Whether swap can hold data keys: locking needs RLIMIT_MEMLOCK (or
	// CAP_IPC_LOCK) above the cache's keys, 32 bytes each.
	s.log.InfoContext(ctx, "data-key cache", "capacity", s.deks.Capacity(), "locked_in_memory", s.deks.Locked())
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = cancel
	s.background.Add(2)
	go func() {
		defer s.background.Done()
		// Four polls a second: a store that is down would fill the log, so a
		// failure is logged once a minute at most.
		var logged time.Time
		s.ended.Run(bg, SyncInterval, func(err error) {
			if time.Since(logged) >= time.Minute {
				logged = time.Now()
				s.log.WarnContext(ctx, "could not poll ended sessions; tokens are refused after 5 s of this", "err", err)
			}
		})
	}()
	go func() {
		defer s.background.Done()
		s.housekeeping(bg)
	}()
	return nil
}

// Stop ends what Start began and waits for it.
func (s *Service) Stop() {
	if s.stop != nil {
		s.stop()
	}
	s.background.Wait()
}

// housekeeping drops the data keys past their time each second, and
// purges expired sessions and completes account deletions interrupted
// more than a minute ago once a minute (by the service's clock).
func (s *Service) housekeeping(ctx context.Context) {
	var gate periodic.Gate
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.deks.Expire() // a key past its time goes now, not at the next read
		if !gate.Due(s.now(), time.Minute) {
			continue
		}
		// Only sessions expired for longer than servers' clocks may
		// disagree: one a little ahead must not purge a session that the
		// others still accept, which could then no longer be ended.
		if n, err := s.store.PurgeSessions(ctx, s.now().Add(-revocation.Overlap)); err != nil {
			s.log.WarnContext(ctx, "could not purge expired sessions", "err", err)
		} else if n > 0 {
			s.log.DebugContext(ctx, "expired sessions purged", "count", n)
		}
		s.finishDeletions(ctx, time.Minute)
	}
}

// sessionEnded is called for each session another replica ended: the
// data key of a deleted account leaves this replica's cache too.
func (s *Service) sessionEnded(e *strongroom.Session) {
	if e.EndReason == strongroom.EndAccountDeleted {
		s.deks.Delete(e.UserID)
	}
}

// maxPolledDeletions bounds the accounts being deleted that a poll reads.
const maxPolledDeletions = 100

// revocationFeed is what the view of ended sessions polls: the sessions
// that ended and, first, the accounts whose deletion has begun. Such an
// account's tokens are refused and its data key leaves this replica's
// cache from the first poll that sees the deletion's first step, even if
// the server deleting it died before it ended the sessions (the next
// housekeeping round, up to a minute later, ends them). A poll that cannot
// read them fails, as one that cannot read the ended sessions does.
type revocationFeed struct{ s *Service }

func (f revocationFeed) EndedSessions(ctx context.Context, since time.Time) ([]*strongroom.Session, error) {
	users, err := f.s.store.UsersBeingDeleted(ctx, maxPolledDeletions)
	if err != nil {
		return nil, err
	}
	if len(users) > 0 || len(*f.s.deleting.Load()) > 0 {
		m := make(map[string]struct{}, len(users))
		for _, u := range users {
			m[u.ID] = struct{}{}
			f.s.deks.Delete(u.ID)
		}
		f.s.deleting.Store(&m)
	}
	return f.s.store.EndedSessions(ctx, since)
}

// beingDeleted reports whether the account's deletion has begun, as of
// the last poll.
func (s *Service) beingDeleted(userID string) bool {
	_, ok := (*s.deleting.Load())[userID]
	return ok
}

type userAgentKey struct{}

// WithUserAgent records the client's User-Agent header in ctx, for the
// session a login there makes.
func WithUserAgent(ctx context.Context, ua string) context.Context {
	return context.WithValue(ctx, userAgentKey{}, ua)
}

// maxUserAgent bounds the User-Agent kept with a session.
const maxUserAgent = 200

// userAgent returns ctx's User-Agent, printable and at most maxUserAgent
// bytes: it is shown back to the user and must not carry control codes.
func userAgent(ctx context.Context) string {
	ua, _ := ctx.Value(userAgentKey{}).(string)
	ua = strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, ua)
	for len(ua) > maxUserAgent {
		_, n := lastRune(ua)
		ua = ua[:len(ua)-n]
	}
	return ua
}

func lastRune(s string) (rune, int) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i]&0xC0 != 0x80 {
			return rune(s[i]), len(s) - i
		}
	}
	return 0, 1
}

// errOvertaken answers a login that an end of all the account's sessions
// overtook between its password check and its session.
var errOvertaken = strongroom.Errorf(strongroom.KindUnauthorized, "the account's sessions were ended meanwhile (a password change?): log in again")

// grant makes a session for u, at the sessions epoch of the read that
// accepted u's credentials, and returns its token, once its login.success
// event (target: the session's id) is durable. If all of u's sessions were
// ended since that read (a password change, say), no session is made and
// the login must start again. If the event cannot be stored, the session
// is ended at once and its token never leaves the server: no login
// succeeds unaudited.
func (s *Service) grant(ctx context.Context, u *strongroom.User, client string) (string, error) {
	tok, c, err := s.cfg.Tokens.Issue(u.ID)
	if err != nil {
		return "", strongroom.Internal("issue token", err)
	}
	err = s.store.CreateSession(ctx, &strongroom.Session{ID: c.ID, UserID: u.ID, CreatedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt,
		Client: client, UserAgent: userAgent(ctx)}, u.SessionsEpoch)
	if errors.Is(err, strongroom.ErrSessionsEnded) {
		s.log.InfoContext(ctx, "login overtaken by an end of the account's sessions", "user_id", u.ID)
		return "", errOvertaken
	}
	if err != nil {
		return "", err
	}
	if err := s.audit(ctx, strongroom.AuditLoginSuccess, strongroom.AuditSuccess, u.ID, c.ID); err != nil {
		// Unused, but listed in GET /sessions until it expired: end it.
		if e, eerr := s.store.EndSession(context.WithoutCancel(ctx), u.ID, c.ID, strongroom.EndRevoked, s.now()); eerr == nil {
			s.ended.Add(e)
		}
		return "", err
	}
	return tok, nil
}

// SessionView is a session as its user sees it.
type SessionView struct {
	ID        string
	CreatedAt time.Time
	ExpiresAt time.Time
	Client    string
	UserAgent string
	Current   bool // the session of the token that asked
}

// Sessions returns the caller's live sessions, newest first (at most
// MaxListedSessions).
func (s *Service) Sessions(ctx context.Context, p *Principal) ([]SessionView, error) {
	ss, err := s.store.Sessions(ctx, p.UserID, s.now(), MaxListedSessions)
	if err != nil {
		return nil, err
	}
	out := make([]SessionView, 0, len(ss))
	for _, x := range ss {
		if s.ended.Ended(x.ID) {
			continue // ended on this replica a moment ago
		}
		out = append(out, SessionView{ID: x.ID, CreatedAt: x.CreatedAt, ExpiresAt: x.ExpiresAt, Client: x.Client, UserAgent: x.UserAgent,
			Current: x.ID == p.TokenID})
	}
	return out, nil
}

// Logout ends the session of the caller's token.
func (s *Service) Logout(ctx context.Context, p *Principal) error {
	e, err := s.store.EndSession(ctx, p.UserID, p.TokenID, strongroom.EndLogout, s.now())
	if err != nil {
		return codeErr(err, errSessionEnded)
	}
	s.ended.Add(e)
	s.log.InfoContext(ctx, "logged out", "user_id", p.UserID)
	return s.audit(ctx, strongroom.AuditLogout, strongroom.AuditSuccess, p.UserID, p.TokenID)
}

// errNoSession answers a session id that names none of the caller's live
// sessions: another user's looks the same as one that never was.
var errNoSession = strongroom.Errorf(strongroom.KindNotFound, "no such session")

// EndSession ends one of the caller's sessions, by id (the caller's own
// included).
func (s *Service) EndSession(ctx context.Context, p *Principal, id string) error {
	if !validSessionID(id) {
		return errNoSession
	}
	e, err := s.store.EndSession(ctx, p.UserID, id, strongroom.EndRevoked, s.now())
	if err != nil {
		return codeErr(err, errNoSession)
	}
	s.ended.Add(e)
	s.log.InfoContext(ctx, "session revoked", "user_id", p.UserID)
	return s.audit(ctx, strongroom.AuditSessionRevoked, strongroom.AuditSuccess, p.UserID, id)
}

// validSessionID: a token's jti is 32 lowercase hexadecimal digits.
func validSessionID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for _, c := range id {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// endOtherSessions ends every session of u but the caller's.
func (s *Service) endOtherSessions(ctx context.Context, p *Principal, u *strongroom.User, why strongroom.EndReason) error {
	ended, err := s.store.EndSessions(ctx, u.ID, p.TokenID, why, s.now())
	s.ended.Add(ended...)
	if err != nil {
		return err
	}
	if len(ended) > 0 {
		s.log.InfoContext(ctx, "sessions ended", "user_id", u.ID, "reason", string(why), "count", len(ended))
	}
	return nil
}
