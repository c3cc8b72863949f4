package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/strongroom/strongroom"
)

// rotationLease is how long a rotation holds its lease without progress
// before another process may take over (after a crash, say). Every batch
// renews it; the pause between batches is kept well below it.
const rotationLease = 30 * time.Second

// RotateMasterKey runs a rotation for an admin caller. A caller who is
// not an administrator is refused, and that is recorded (key.rotate.start,
// failure): a key operation asked for without the right. Past the
// account's budget of such refusals the answer is 429 and nothing is
// recorded, so a token cannot fill the audit trail with them.
func (s *Service) RotateMasterKey(ctx context.Context, p *Principal) (strongroom.Rotation, error) {
	if err := s.requireAdmin(ctx, p, "rotate the master key"); err != nil {
		if strongroom.IsKind(err, strongroom.KindForbidden) {
			err = s.refused(ctx, err, strongroom.AuditKeyRotateStart, p.UserID, "")
		}
		return strongroom.Rotation{}, err
	}
	return s.rotate(ctx, p.UserID, nil)
}

// RotationStatus returns the latest rotation's progress, for an admin.
func (s *Service) RotationStatus(ctx context.Context, p *Principal) (strongroom.Rotation, error) {
	if err := s.requireAdmin(ctx, p, "see the master key's rotation"); err != nil {
		return strongroom.Rotation{}, err
	}
	return s.store.Rotation(ctx)
}

// requireAdmin refuses (KindForbidden) a caller who is not an
// administrator; what names the refused act, for the message.
func (s *Service) requireAdmin(ctx context.Context, p *Principal, what string) error {
	u, err := s.principalUser(ctx, p, "")
	if err != nil {
		return err
	}
	if !s.isAdmin(u) {
		if err := s.limit(ctx, s.adminDenied, p.UserID, "requests an administrator may make"); err != nil {
			return err
		}
		return strongroom.Errorf(strongroom.KindForbidden, "only an administrator may %s", what)
	}
	return nil
}

// Rotate makes a new master-key version and rewraps every data key under
// it, batch by batch, without touching a record; then it retires the old
// versions. An interrupted rotation (crash, kill, cancelled ctx) is resumed
// by the next call: until the last step every old version is kept, so
// every record stays readable throughout. progress, if set, is called after
// each batch. This is the operator's entry point (no caller check): its
// audit events name no user.
func (s *Service) Rotate(ctx context.Context, progress func(strongroom.Rotation)) (strongroom.Rotation, error) {
	return s.rotate(ctx, "", progress)
}

// rotate is Rotate for actor (an administrator's id, or "" for the
// operator). key.rotate.start is durable before any data key is rewrapped
// (the rotation does not run unaudited: if it cannot be stored the
// rotation stops, to be resumed); key.rotate.done follows, with the
// outcome, once the rotation has finished or stopped.
func (s *Service) rotate(ctx context.Context, actor string, progress func(strongroom.Rotation)) (_ strongroom.Rotation, err error) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	owner := hex.EncodeToString(b[:])
	r, err := s.store.BeginRotation(ctx, owner, s.now(), rotationLease)
	if err != nil {
		if strongroom.IsKind(err, strongroom.KindConflict) {
			err = s.refused(ctx, err, strongroom.AuditKeyRotateStart, actor, "") // another rotation runs
		}
		return r, err
	}
	started := false // the rotation is saved as begun
	audited := false // key.rotate.start is stored
	defer func() {
		ctx := context.WithoutCancel(ctx)
		switch {
		case err != nil && !audited:
			// Stopped before it began (the key manager, or the start's own
			// event, failed): a failed start, if the trail takes it.
			_ = s.audit(ctx, strongroom.AuditKeyRotateStart, strongroom.AuditFailure, actor, versionTarget(r.TargetVersion))
		case err != nil:
			_ = s.audit(ctx, strongroom.AuditKeyRotateDone, strongroom.AuditFailure, actor, versionTarget(r.TargetVersion))
		default:
			err = s.audit(ctx, strongroom.AuditKeyRotateDone, strongroom.AuditSuccess, actor, versionTarget(r.TargetVersion))
		}
	}()
	defer func() {
		if started {
			s.obs.RotationFinished(err == nil)
		}
		if err != nil { // give the lease up now, so a rerun need not wait for it to lapse
			if rerr := s.store.SaveRotation(context.WithoutCancel(ctx), owner, r, s.now(), 0); rerr != nil && !strongroom.IsKind(rerr, strongroom.KindConflict) {
				s.log.ErrorContext(ctx, "could not release the rotation lease", "err", rerr)
			}
			s.log.ErrorContext(ctx, "master key rotation stopped; run it again to resume", "err", err)
		}
	}()
	save := func() error {
		r.UpdatedAt = s.now().UTC()
		return s.store.SaveRotation(ctx, owner, r, s.now(), rotationLease)
	}
	if r.State == strongroom.RotationRewrapping {
		newest, _, err := s.keys.Versions(ctx)
		if err != nil {
			return r, err
		}
		if newest < r.TargetVersion {
			return r, strongroom.Internal("rotate", fmt.Errorf("key manager's newest version %d is older than the rotation's target %d", newest, r.TargetVersion))
		}
		r.TargetVersion = newest
		s.log.InfoContext(ctx, "resuming master key rotation", "target_version", newest, "rewrapped", r.Rewrapped)
	} else {
		v, err := s.keys.Rotate(ctx)
		if err != nil {
			return r, err
		}
		now := s.now().UTC()
		r = strongroom.Rotation{State: strongroom.RotationRewrapping, TargetVersion: v, StartedAt: now}
		s.log.InfoContext(ctx, "master key rotation started", "target_version", v)
	}
	// The new version exists but no data key is under it yet.
	if err := s.audit(ctx, strongroom.AuditKeyRotateStart, strongroom.AuditSuccess, actor, versionTarget(r.TargetVersion)); err != nil {
		return r, err
	}
	audited = true
	if err := save(); err != nil {
		return r, err
	}
	started = true
	s.rotationStarted(ctx, r)
	// From the save above, the store refuses new keys under old versions
	// (ErrStaleKey), so once this loop finds none left, none can appear.
	if err := s.rewrapAll(ctx, &r, save, progress); err != nil {
		return r, err
	}
	n, err := s.store.CountKeysBelowVersion(ctx, r.TargetVersion)
	if err != nil {
		return r, err
	}
	if n > 0 {
		return r, strongroom.Internal("rotate", fmt.Errorf("%d data keys still under old versions", n))
	}
	if err := s.keys.Retire(ctx, r.TargetVersion); err != nil {
		return r, err
	}
	r.State, r.FinishedAt = strongroom.RotationDone, s.now().UTC()
	if err := save(); err != nil {
		return r, err
	}
	s.log.InfoContext(ctx, "master key rotation finished", "version", r.TargetVersion, "rewrapped", r.Rewrapped)
	return r, nil
}

func (s *Service) rewrapAll(ctx context.Context, r *strongroom.Rotation, save func() error, progress func(strongroom.Rotation)) error {
	for {
		batch, err := s.store.KeysBelowVersion(ctx, r.TargetVersion, s.cfg.RotationBatch)
		if err != nil || len(batch) == 0 {
			return err
		}
		wrapped, err := s.keys.Rewrap(ctx, batch)
		if err != nil {
			return err
		}
		ups := make([]strongroom.KeyUpdate, len(batch))
		for i, k := range batch {
			ups[i] = strongroom.KeyUpdate{UserID: k.UserID, From: k.Key.Version, To: wrapped[i]}
		}
		n, err := s.store.UpdateKeys(ctx, ups)
		if err != nil {
			return err
		}
		r.Rewrapped += n
		if err := save(); err != nil {
			return err
		}
		s.obs.RotationProgress(r.Rewrapped)
		if progress != nil {
			progress(*r)
		}
		if err := sleep(ctx, s.cfg.RotationPause); err != nil {
			return err
		}
	}
}

// rotationStarted tells the observer how many data keys the rotation
// rewraps: those still under older versions, and those an interrupted run
// did. Counting them is one more query, made only for a real observer.
func (s *Service) rotationStarted(ctx context.Context, r strongroom.Rotation) {
	if _, nop := s.obs.(NopObserver); nop {
		return
	}
	left, err := s.store.CountKeysBelowVersion(ctx, r.TargetVersion)
	if err != nil {
		s.log.WarnContext(ctx, "could not count the data keys to rewrap, for the metrics", "err", err)
	}
	s.obs.RotationStarted(r.Rewrapped+left, r.Rewrapped)
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return strongroom.Unavailable("rotation interrupted; run it again to finish", ctx.Err())
	}
}
