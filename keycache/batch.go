package keycache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/strongroom/strongroom"
)

// Defaults for a Batcher's bounds.
const (
	DefaultMaxBatch = 256 // keys per call: Vault decrypts 256 in about 10 ms
	DefaultMaxCalls = 2
)

var errResults = errors.New("a result count other than the keys'")

// Batcher makes concurrent unwraps of different users' keys share
// key-manager calls. An unwrap goes at once if fewer than MaxCalls calls
// are out, so a lone miss waits for nothing; otherwise it queues, and the
// next call takes the whole queue, up to MaxBatch keys (Vault Transit's
// batch_input). A burst of first reads after a restart thus costs a few
// calls, not one per user.
type Batcher struct {
	keys               strongroom.KeyManager
	maxBatch, maxCalls int

	mu    sync.Mutex
	queue []*unwrap
	out   int // calls out now, or about to be

	calls, unwrapped atomic.Int64
}

type unwrap struct {
	key       strongroom.UserKey
	done      chan struct{}
	dek       []byte
	err       error
	abandoned bool // its caller gave up: the dek is zeroed on arrival
}

// NewBatcher returns a Batcher over keys; zero bounds take the defaults.
func NewBatcher(keys strongroom.KeyManager, maxBatch, maxCalls int) *Batcher {
	if maxBatch <= 0 {
		maxBatch = DefaultMaxBatch
	}
	if maxCalls <= 0 {
		maxCalls = DefaultMaxCalls
	}
	return &Batcher{keys: keys, maxBatch: maxBatch, maxCalls: maxCalls}
}

// Unwrap returns the data key of k, unwrapped in a call it may share with
// other unwraps. The caller zeroes it after use. A caller that gives up
// (ctx done) leaves its key to be zeroed when it arrives; the call goes on
// for the others, without the caller's deadline.
func (b *Batcher) Unwrap(ctx context.Context, k strongroom.UserKey) ([]byte, error) {
	u := &unwrap{key: k, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, u)
	if b.out < b.maxCalls {
		b.out++
		go b.drain(context.WithoutCancel(ctx))
	}
	b.mu.Unlock()
	select {
	case <-u.done:
		return u.dek, u.err
	case <-ctx.Done():
		b.mu.Lock()
		select {
		case <-u.done:
			clear(u.dek)
		default:
			u.abandoned = true
		}
		b.mu.Unlock()
		return nil, ctx.Err()
	}
}

// Calls returns how many key-manager calls the batcher made, and how many
// keys it unwrapped in them.
func (b *Batcher) Calls() (calls, keys int64) { return b.calls.Load(), b.unwrapped.Load() }

// Waiting returns how many unwraps are queued now for the next call: a
// key manager slower than the misses shows here first.
func (b *Batcher) Waiting() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue)
}

// drain makes calls until the queue is empty.
func (b *Batcher) drain(ctx context.Context) {
	for {
		b.mu.Lock()
		n := min(len(b.queue), b.maxBatch)
		if n == 0 {
			b.out--
			b.mu.Unlock()
			return
		}
		batch := b.queue[:n:n]
		b.queue = b.queue[n:]
		if len(b.queue) == 0 {
			b.queue = nil // let the array go
		}
		b.mu.Unlock()

		keys := make([]strongroom.UserKey, n)
		for i, u := range batch {
			keys[i] = u.key
		}
		b.calls.Add(1)
		b.unwrapped.Add(int64(n))
		res, err := b.keys.Unwrap(ctx, keys)
		if err == nil && len(res) != n {
			for _, r := range res {
				clear(r.DEK)
			}
			res, err = nil, strongroom.Internal("key manager", errResults)
		}
		b.mu.Lock()
		for i, u := range batch {
			if err != nil {
				u.err = err
			} else {
				u.dek, u.err = res[i].DEK, res[i].Err
			}
			if u.abandoned {
				clear(u.dek)
			}
			close(u.done)
		}
		b.mu.Unlock()
	}
}
