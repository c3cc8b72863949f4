package service

import (
	"context"
	"fmt"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/internal/failpoint"
)

// Failpoints between the durable steps of an account deletion, for tests
// that stop the process there.
const (
	FailpointKeyDestroyed  = "account-deletion:key-destroyed"
	FailpointSessionsEnded = "account-deletion:sessions-ended"
)

// Deletion is what deleting an account did.
type Deletion struct {
	RecordsDeleted int
	KeyDestroyedAt time.Time
}

// DeleteAccount deletes the caller's account, given the password and,
// while two-factor authentication is on, a current second factor (code).
// It is crypto-shredding: the wrapped data key goes first, in a step of
// its own, so every record is unreadable from then on, on every replica
// and in every later backup, even if the rest never happens; then every
// session ends, and the records, codes and the account itself are
// deleted. An interrupted deletion is completed by the next housekeeping
// round of any replica (and at start). The owner is mailed a notice.
func (s *Service) DeleteAccount(ctx context.Context, p *Principal, client, password, code string) (Deletion, error) {
	u, err := s.principalUser(ctx, p, "")
	if err != nil {
		return Deletion{}, err
	}
	if err := s.reauthenticate(ctx, p, u, client, password, code); err != nil {
		return Deletion{}, err
	}
	// The rest is not the client's to cut short: a deletion that has begun
	// runs to its end even if the client hangs up.
	ctx = context.WithoutCancel(ctx)
	// Recorded before the first step, which cannot be undone: if the event
	// cannot be stored nothing is deleted (503). Once the first step is
	// done the deletion runs to its end, here or, if interrupted, on any
	// server, so the event stands for the whole of it.
	if err := s.audit(ctx, strongroom.AuditAccountDeleted, strongroom.AuditSuccess, u.ID, u.ID); err != nil {
		return Deletion{}, err
	}
	u.DeletedAt = s.now().UTC()
	n, err := s.finishDeletion(ctx, u)
	if err != nil {
		// The account is still found only if the first step was not done:
		// then the deletion never began, and the trail says so.
		if _, uerr := s.store.UserByID(ctx, u.ID); uerr == nil {
			_ = s.audit(ctx, strongroom.AuditAccountDeleted, strongroom.AuditFailure, u.ID, u.ID)
		}
		return Deletion{}, err
	}
	return Deletion{RecordsDeleted: n, KeyDestroyedAt: u.DeletedAt}, nil
}

// finishDeletion runs every step of deleting u's account, from where an
// earlier run stopped (each step may be run again): u.DeletedAt is when
// the deletion began.
func (s *Service) finishDeletion(ctx context.Context, u *strongroom.User) (int, error) {
	if err := s.store.DestroyUserKey(ctx, u.ID, u.DeletedAt); err != nil {
		return 0, err
	}
	s.deks.Delete(u.ID)
	s.log.WarnContext(ctx, "account deletion: data key destroyed", "user_id", u.ID)
	failpoint.Hit(FailpointKeyDestroyed)

	ended, err := s.store.EndSessions(ctx, u.ID, "", strongroom.EndAccountDeleted, s.now())
	s.ended.Add(ended...)
	if err != nil {
		return 0, err
	}
	failpoint.Hit(FailpointSessionsEnded)

	n, err := s.store.DeleteUser(ctx, u.ID)
	if strongroom.IsKind(err, strongroom.KindNotFound) {
		// Another server's housekeeping completed it meanwhile (it does
		// so for deletions that began before it started): done, though
		// the records it deleted are not counted here.
		s.log.InfoContext(ctx, "account deletion completed by another run", "user_id", u.ID)
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	s.log.WarnContext(ctx, "account deleted", "user_id", u.ID, "records_deleted", n, "sessions_ended", len(ended),
		"began", u.DeletedAt.UTC().Format(time.RFC3339))
	s.notify(ctx, u, "Your Strongroom account was deleted", fmt.Sprintf(
		"Your Strongroom account %q was deleted at %s, with the %d records it held.\n\n"+
			"The key that encrypted them was destroyed first, so they cannot be read again, from this\n"+
			"service or from its backups. Every session of the account was ended.\n\n"+
			"If this was not you, someone had your password (and your second factor, if you had one on).\n",
		u.Username, u.DeletedAt.UTC().Format(time.RFC1123), n))
	return n, nil
}

// finishDeletions completes the account deletions that were interrupted
// (a crash, a lost store): those that began more than age ago, so that a
// deletion still under way in a request is left to it.
func (s *Service) finishDeletions(ctx context.Context, age time.Duration) {
	users, err := s.store.UsersBeingDeleted(ctx, 100)
	if err != nil {
		s.log.WarnContext(ctx, "could not look for interrupted account deletions", "err", err)
		return
	}
	for _, u := range users {
		if s.now().Sub(u.DeletedAt) < age {
			continue
		}
		if _, err := s.finishDeletion(ctx, u); err != nil && !strongroom.IsKind(err, strongroom.KindNotFound) {
			s.log.ErrorContext(ctx, "could not complete an account deletion", "user_id", u.ID, "err", err)
		}
	}
}
