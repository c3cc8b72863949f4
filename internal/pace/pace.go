// Package pace runs long CPU-bound work inside the server at a low
// priority: a password hash, a batch of a master-key rotation.
//
// Go has no goroutine priorities, and a goroutine that computes for
// milliseconds holds its P until the runtime preempts it (every 10 ms), so
// requests queued on that P wait behind it. A Pacer yields the processor
// every few units of work and, when the yield shows that other goroutines
// were waiting, sleeps a multiple of the time it just ran: under contention
// the work takes a bounded share of a core, and the requests keep the
// rest; with nothing else to run it never sleeps and runs at full speed.
package pace

import (
	"runtime"
	"time"
)

// busy is how long a yield must take to mean that other goroutines were
// waiting for the processor; an uncontended yield returns in a few
// microseconds.
const busy = 50 * time.Microsecond

// Pacer paces one piece of work. Its zero value is not usable; make one
// with New for each piece of work, on the goroutine that does it.
type Pacer struct {
	every, n int
	backoff  time.Duration
	start    time.Time
}

// New returns a Pacer that yields after every units of work and, under
// contention, sleeps backoff times as long as the work ran since the last
// yield: the work then gets about 1/(1+backoff) of a core.
func New(every, backoff int) *Pacer {
	return &Pacer{every: max(every, 1), backoff: time.Duration(backoff), start: time.Now()}
}

// Step records one unit of work done, and yields (and backs off) when it is
// time to.
func (p *Pacer) Step() {
	p.n++
	if p.n < p.every {
		return
	}
	p.n = 0
	ran := time.Since(p.start)
	t := time.Now()
	runtime.Gosched()
	if time.Since(t) > busy && p.backoff > 0 {
		time.Sleep(p.backoff * ran)
	}
	p.start = time.Now()
}
