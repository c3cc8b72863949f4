package service_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/keycache"
	"github.com/strongroom/strongroom/service"
)

// heldKeys is the real key manager whose unwrap calls wait until the
// test lets them go, counting the calls and the keys they carry.
type heldKeys struct {
	strongroom.KeyManager
	hold        chan struct{}
	calls, keys atomic.Int64
}

func (k *heldKeys) Unwrap(ctx context.Context, keys []strongroom.UserKey) ([]strongroom.Unwrapped, error) {
	k.calls.Add(1)
	k.keys.Add(int64(len(keys)))
	<-k.hold
	return k.KeyManager.Unwrap(ctx, keys)
}

// Once the cache's keys have expired, 32 users' reads at once unwrap 32
// keys in a few key-manager calls, not one each, and each read gets its
// own value. The key manager holds its calls until every read is either
// in a call or waiting for one, so the count does not depend on how fast
// the machine runs the readers.
func TestFirstReadsShareKeyManagerCalls(t *testing.T) {
	keys := &heldKeys{hold: make(chan struct{})}
	e := newEnv(t, func(c *service.Config) {
		keys.KeyManager = c.Keys
		c.Keys = keys
	})
	ctx := context.Background()
	const users = 32
	ps, ids := make([]*service.Principal, users), make([]string, users)
	for i := range users {
		ps[i] = e.signedIn(t, fmt.Sprintf("reader%02d", i))
		v, err := e.svc.CreateRecord(ctx, ps[i], "card_number", fmt.Sprintf("41111111111111%02d", i))
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = v.ID
	}
	e.clock.Add(2 * time.Minute) // past the TTL: every key goes
	before := e.svc.Stats()
	if before.UnwrapCalls != 0 {
		t.Fatalf("%d unwrap calls before the reads (their keys were cached at creation)", before.UnwrapCalls)
	}
	var wg sync.WaitGroup
	for i := range users {
		wg.Go(func() {
			v, err := e.svc.Record(ctx, ps[i], ids[i])
			if err != nil || v.Value != fmt.Sprintf("41111111111111%02d", i) {
				t.Errorf("reader %d: %+v, %v", i, v, err)
			}
		})
	}
	// Every key is in a held call or waiting for one.
	for deadline := time.Now().Add(30 * time.Second); keys.keys.Load()+int64(e.svc.Stats().UnwrapsWaiting) != users; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			close(keys.hold)
			wg.Wait()
			t.Fatalf("the reads never all waited on the key manager: %d calls out for %d keys, %d waiting", keys.calls.Load(), keys.keys.Load(), e.svc.Stats().UnwrapsWaiting)
		}
	}
	held := keys.calls.Load()
	close(keys.hold)
	wg.Wait()
	after := e.svc.Stats()
	unwraps, made := after.Unwraps-before.Unwraps, after.UnwrapCalls-before.UnwrapCalls
	t.Logf("%d first reads: %d keys unwrapped in %d calls (%d held while the others queued)", users, unwraps, made, held)
	if unwraps != users || made != keys.calls.Load() || after.UnwrapsWaiting != 0 {
		t.Fatalf("%d keys in %d calls (the key manager saw %d), %d still waiting; want %d keys", unwraps, made, keys.calls.Load(), after.UnwrapsWaiting, users)
	}
	// At most the batcher's bound of calls were out; the queued rest went
	// in one.
	if held > keycache.DefaultMaxCalls || made > held+1 {
		t.Fatalf("%d first reads at once took %d key-manager calls (%d held)", users, made, held)
	}
}
