package service_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/service"
)

// slowKeys is the real key manager with 5 ms added to each
// unwrap call, as a remote one (Vault) may take, counting the calls.
type slowKeys struct {
	strongroom.KeyManager
	calls atomic.Int64
}

func (k *slowKeys) Unwrap(ctx context.Context, keys []strongroom.UserKey) ([]strongroom.Unwrapped, error) {
	k.calls.Add(1)
	time.Sleep(5 * time.Millisecond)
	return k.KeyManager.Unwrap(ctx, keys)
}

// Once the cache's keys have expired, 32 users' reads at once unwrap 32
// keys in a few key-manager calls, not one each, and each read gets its
// own value.
func TestFirstReadsShareKeyManagerCalls(t *testing.T) {
	keys := &slowKeys{}
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
	before, calls := e.svc.Stats(), keys.calls.Load()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range users {
		wg.Go(func() {
			<-start
			v, err := e.svc.Record(ctx, ps[i], ids[i])
			if err != nil || v.Value != fmt.Sprintf("41111111111111%02d", i) {
				t.Errorf("reader %d: %+v, %v", i, v, err)
			}
		})
	}
	close(start)
	wg.Wait()
	after := e.svc.Stats()
	unwraps, made := after.Unwraps-before.Unwraps, after.UnwrapCalls-before.UnwrapCalls
	t.Logf("%d first reads: %d keys unwrapped in %d calls", users, unwraps, made)
	if unwraps != users || made != keys.calls.Load()-calls {
		t.Fatalf("%d keys in %d calls (the key manager saw %d), want %d keys", unwraps, made, keys.calls.Load()-calls, users)
	}
	if made > users/2 {
		t.Fatalf("%d first reads at once took %d key-manager calls", users, made)
	}
}
