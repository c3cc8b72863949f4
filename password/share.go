package password

import (
	"context"
	"errors"
)

// ErrClientBusy is returned when one client already holds its fair share
// of the hashing pool and as many of its requests wait as may: the caller
// should tell that client to slow down.
var ErrClientBusy = errors.New("password: too many password checks in progress for one client")

// clientQueue is how many of one client's requests may wait for its share
// beyond those holding it, so a few parallel logins from one address (a
// NAT, a browser retrying) wait instead of failing.
const clientQueue = 8

// clientShare is one client's part of the pool: turn holds a token per
// place the client occupies in the pool (a slot or the pool's queue), at
// most Hasher.share; n counts its requests holding or awaiting a turn.
// A client with nothing in progress has no entry, so the map stays as
// small as the number of clients being served.
type clientShare struct {
	turn chan struct{}
	n    int // under Hasher.mu
}

// takeShare waits, while ctx allows, for one of client's places in the
// pool; ErrClientBusy at once if its queue is full.
func (h *Hasher) takeShare(ctx context.Context, client string) (*clientShare, error) {
	h.mu.Lock()
	c := h.clients[client]
	if c == nil {
		c = &clientShare{turn: make(chan struct{}, h.share)}
		h.clients[client] = c
	}
	if c.n >= h.share+clientQueue {
		h.mu.Unlock()
		return nil, ErrClientBusy
	}
	c.n++
	h.mu.Unlock()
	// A free place is taken even when ctx is already done: a select with
	// both ready picks at random, and would call an idle client busy.
	select {
	case c.turn <- struct{}{}:
		return c, nil
	default:
	}
	select {
	case c.turn <- struct{}{}:
		return c, nil
	case <-ctx.Done():
		h.leave(client, c)
		return nil, ErrClientBusy
	}
}

// giveShare returns a place taken by takeShare.
func (h *Hasher) giveShare(client string, c *clientShare) {
	<-c.turn
	h.leave(client, c)
}

func (h *Hasher) leave(client string, c *clientShare) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.n--; c.n == 0 {
		delete(h.clients, client)
	}
}

// Share returns how many places in the pool one client may hold at once.
func (h *Hasher) Share() int { return h.share }

// Slots returns how many hashes run at once.
func (h *Hasher) Slots() int { return cap(h.slots) }
