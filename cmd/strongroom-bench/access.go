package main

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// A picker chooses the user a request is made for, an index below the
// population's size. It is safe for concurrent use.
type picker func() int

// zipfS and zipfV are the Zipf law of -access zipf, math/rand/v2's
// parameterisation: user k (from 0) is drawn with probability
// proportional to (zipfV + k)^-zipfS. With s = 1.1 over 100 000 users the
// first user takes 13.5% of the requests, the first 100 users 58% and the
// first 1 000 (1%) 75%.
const (
	zipfS = 1.1
	zipfV = 1
)

// newPicker is the picker of an access pattern (-access) over n users.
func newPicker(access string, n int) (picker, error) {
	switch access {
	case "uniform":
		return uniform(n), nil
	case "zipf":
		return zipf(n), nil
	}
	return nil, fmt.Errorf("-access %q: want uniform or zipf", access)
}

// rnd is a uniform draw below n, cheap enough for a load generator.
func rnd(n int) int { return rand.IntN(n) }

func uniform(n int) picker { return func() int { return rand.IntN(n) } }

// zipf draws users by the Zipf law above, user 0 the hottest.
func zipf(n int) picker {
	var mu sync.Mutex
	z := rand.NewZipf(rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())), zipfS, zipfV, uint64(n-1))
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return int(z.Uint64())
	}
}

// distinct wraps a picker and counts the distinct users it has picked.
type distinct struct {
	seen  []atomic.Bool
	count atomic.Int64
}

func (d *distinct) wrap(p picker) picker {
	return func() int {
		i := p()
		if d.seen[i].CompareAndSwap(false, true) {
			d.count.Add(1)
		}
		return i
	}
}
