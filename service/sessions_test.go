package service_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/revocation"
)

// A login that races a password change cannot keep a session that the
// change should have ended: every token a login with the old password
// got is refused once the change has answered.
func TestLoginRacingPasswordChange(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.svc.Register(ctx, "127.0.0.1", "alice", "alice@example.com", pw); err != nil {
		t.Fatal(err)
	}
	for round := range 5 {
		res, err := e.svc.Login(ctx, "127.0.0.1", "alice", pw)
		if err != nil {
			t.Fatal(err)
		}
		p, err := e.svc.Authenticate(res.Token)
		if err != nil {
			t.Fatal(err)
		}
		var (
			done   atomic.Bool
			mu     sync.Mutex
			tokens []string
			wg     sync.WaitGroup
		)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !done.Load() {
					if r, err := e.svc.Login(ctx, fmt.Sprintf("10.0.%d.%d", round, i), "alice", pw); err == nil {
						mu.Lock()
						tokens = append(tokens, r.Token)
						mu.Unlock()
					}
				}
			}()
		}
		for start := time.Now(); ; time.Sleep(time.Millisecond) { // until logins get in
			mu.Lock()
			n := len(tokens)
			mu.Unlock()
			if n > 0 || time.Since(start) > 10*time.Second {
				break
			}
		}
		next := fmt.Sprintf("N3w-Passw0rd!%d", round)
		if err := e.svc.ChangePassword(ctx, p, "127.0.0.1", pw, next, ""); err != nil {
			t.Fatal(err)
		}
		done.Store(true)
		wg.Wait()
		if len(tokens) == 0 {
			t.Fatal("no login got in before the change: the race was not run")
		}
		for _, tok := range tokens {
			if _, err := e.svc.Authenticate(tok); err == nil {
				t.Fatalf("round %d: a token from a login with the old password outlived the change (%d logins raced it)", round, len(tokens))
			}
		}
		if _, err := e.svc.Authenticate(res.Token); err != nil {
			t.Fatalf("the changing session ended: %v", err)
		}
		// Back to the old password for the next round, once any lockout
		// the racers' failures caused is over.
		e.clock.Add(16 * time.Minute)
		if err := e.svc.ChangePassword(ctx, p, "127.0.0.1", next, pw, ""); err != nil {
			t.Fatal(err)
		}
	}
}

// A server that cannot bring its view of ended sessions up to date stops
// accepting tokens, rather than accept one that may have ended.
func TestTokensRefusedWhileSessionsCannotBeChecked(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if err := e.svc.Register(ctx, "127.0.0.1", "alice", "alice@example.com", pw); err != nil {
		t.Fatal(err)
	}
	res, err := e.svc.Login(ctx, "127.0.0.1", "alice", pw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Authenticate(res.Token); err != nil {
		t.Fatal(err)
	}
	e.store.Close()
	time.Sleep(revocation.MaxStale + 500*time.Millisecond)
	if _, err := e.svc.Authenticate(res.Token); !strongroom.IsKind(err, strongroom.KindUnavailable) {
		t.Fatalf("with the store gone for %v: %v, want unavailable", revocation.MaxStale, err)
	}
}

// A deletion interrupted after its first step (as a crash would leave it)
// is completed by a running server's housekeeping, once it is more than a
// minute old, and not before: a deletion that young may still be under
// way in a request.
func TestHousekeepingCompletesInterruptedDeletions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if err := e.svc.Register(ctx, "127.0.0.1", "alice", "alice@example.com", pw); err != nil {
		t.Fatal(err)
	}
	u, err := e.store.UserByUsername(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.DestroyUserKey(ctx, u.ID, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	pending := func() int {
		users, err := e.store.UsersBeingDeleted(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(users)
	}
	e.clock.Add(30 * time.Second)
	time.Sleep(2500 * time.Millisecond) // two housekeeping ticks
	if pending() != 1 {
		t.Fatal("a deletion 30 s old was taken over")
	}
	e.clock.Add(2 * time.Minute)
	deadline := time.Now().Add(10 * time.Second)
	for pending() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the interrupted deletion was not completed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := e.svc.Register(ctx, "127.0.0.1", "alice", "alice@example.com", pw); err != nil {
		t.Fatalf("the name is not free again: %v", err)
	}
}
