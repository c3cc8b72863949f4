package keycache_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/keycache"
	"github.com/strongroom/strongroom/localkms"
)

// heldKeys is a real key manager (the local keyring) whose calls wait,
// when hold is set, until the test closes it; it counts its calls and
// the keys they carry.
type heldKeys struct {
	strongroom.KeyManager
	hold        chan struct{}
	calls, keys atomic.Int64
	fail        error
}

func (k *heldKeys) Unwrap(ctx context.Context, keys []strongroom.UserKey) ([]strongroom.Unwrapped, error) {
	k.calls.Add(1)
	k.keys.Add(int64(len(keys)))
	if k.hold != nil {
		<-k.hold
	}
	if k.fail != nil {
		return nil, k.fail
	}
	return k.KeyManager.Unwrap(ctx, keys)
}

// wrapped makes n users' data keys, wrapped by a fresh local keyring.
func wrapped(t *testing.T, n int) (*heldKeys, []strongroom.UserKey, [][]byte) {
	kms, err := localkms.Open(filepath.Join(t.TempDir(), localkms.FileName))
	if err != nil {
		t.Fatal(err)
	}
	uks, deks := make([]strongroom.UserKey, n), make([][]byte, n)
	for i := range n {
		deks[i] = make([]byte, 32)
		_, _ = rand.Read(deks[i])
		uks[i].UserID = fmt.Sprintf("%024x", i)
		if uks[i].Key, err = kms.Wrap(context.Background(), uks[i].UserID, deks[i]); err != nil {
			t.Fatal(err)
		}
	}
	return &heldKeys{KeyManager: kms}, uks, deks
}

// 500 users' first reads at once share a few calls, and each gets its
// own key. The key manager holds its calls until every key is in a call
// or queued, as a slow one would, so the count does not depend on how
// fast the machine starts the readers.
func TestConcurrentUnwrapsShareCalls(t *testing.T) {
	const users = 500
	k, uks, deks := wrapped(t, users)
	k.hold = make(chan struct{})
	b := keycache.NewBatcher(k, 0, 0)
	var wg sync.WaitGroup
	for i := range uks {
		wg.Go(func() {
			dek, err := b.Unwrap(context.Background(), uks[i])
			if err != nil || !bytes.Equal(dek, deks[i]) {
				t.Errorf("user %d: got another key (%v)", i, err)
			}
		})
	}
	for deadline := time.Now().Add(30 * time.Second); k.keys.Load()+int64(b.Waiting()) != users; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			close(k.hold)
			wg.Wait()
			t.Fatalf("the unwraps never all waited: %d calls out for %d keys, %d queued", k.calls.Load(), k.keys.Load(), b.Waiting())
		}
	}
	held, heldKeys := k.calls.Load(), k.keys.Load()
	close(k.hold)
	wg.Wait()
	calls, keys := b.Calls()
	t.Logf("%d unwraps in %d calls (%d held with %d keys)", keys, calls, held, heldKeys)
	if keys != users || calls != k.calls.Load() || b.Waiting() != 0 {
		t.Fatalf("Calls() = %d, %d; the key manager had %d calls for %d keys; %d still queued", calls, keys, k.calls.Load(), users, b.Waiting())
	}
	// At most the bound of calls were out; the queue went in batches of
	// at most 256.
	queued := users - heldKeys
	if held > keycache.DefaultMaxCalls || calls > held+(queued+keycache.DefaultMaxBatch-1)/keycache.DefaultMaxBatch {
		t.Fatalf("%d concurrent unwraps took %d key-manager calls (%d held)", users, calls, held)
	}
}

// A key that does not unwrap fails alone; a call that fails fails all of
// its keys.
func TestUnwrapFailures(t *testing.T) {
	k, uks, deks := wrapped(t, 3)
	uks[1].UserID = uks[2].UserID // another owner's wrapped key
	b := keycache.NewBatcher(k, 0, 1)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range uks {
		wg.Go(func() {
			var dek []byte
			dek, errs[i] = b.Unwrap(context.Background(), uks[i])
			if errs[i] == nil && !bytes.Equal(dek, deks[i]) {
				t.Errorf("user %d: got another key", i)
			}
		})
	}
	wg.Wait()
	if errs[0] != nil || errs[1] == nil || errs[2] != nil {
		t.Fatalf("errors %v: want only the second key to fail", errs)
	}
	down := strongroom.Unavailable("key manager unreachable", errors.New("refused"))
	k.fail = down
	if _, err := b.Unwrap(context.Background(), uks[0]); !errors.Is(err, down) {
		t.Fatalf("a failed call answered %v", err)
	}
}

// A caller that gives up returns at once; the call goes on for the others.
func TestGivingUpLeavesTheOthers(t *testing.T) {
	k, uks, deks := wrapped(t, 2)
	b := keycache.NewBatcher(k, 0, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Unwrap(ctx, uks[0]); !errors.Is(err, context.Canceled) {
		t.Fatalf("a caller that gave up got %v", err)
	}
	if dek, err := b.Unwrap(context.Background(), uks[1]); err != nil || !bytes.Equal(dek, deks[1]) {
		t.Fatalf("the next caller got %v", err)
	}
}
