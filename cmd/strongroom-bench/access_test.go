package main

import (
	"math"
	"slices"
	"testing"
)

// The Zipf picker follows its law: over 1 000 users, user 0 takes 17.9% of
// the draws, user 1 8.4% and the first 10 users 48.1% (the shares of
// (1+k)^-1.1 normalised); the uniform picker gives each user about the
// same share.
func TestPickers(t *testing.T) {
	const n, draws = 1000, 400_000
	count := func(p picker) []int {
		c := make([]int, n)
		for range draws {
			c[p()]++
		}
		return c
	}
	share := func(c []int, from, to int) float64 {
		s := 0
		for _, v := range c[from:to] {
			s += v
		}
		return float64(s) / draws
	}
	z := count(zipf(n))
	for _, w := range []struct {
		from, to int
		want     float64
	}{{0, 1, 0.1794}, {1, 2, 0.0837}, {0, 10, 0.4809}, {500, 1000, 0.0645}} {
		if got := share(z, w.from, w.to); math.Abs(got-w.want) > 0.01 {
			t.Errorf("zipf: users %d to %d drew %.4f of the draws, want %.4f", w.from, w.to-1, got, w.want)
		}
	}
	u := count(uniform(n))
	for _, half := range []int{0, n / 2} {
		if got := share(u, half, half+n/2); math.Abs(got-0.5) > 0.01 {
			t.Errorf("uniform: users %d on drew %.4f of the draws, want 0.5", half, got)
		}
	}
	// 400 draws per user: the extremes are some 3 to 4 standard
	// deviations (20 draws) away, far from 1.7 times each other.
	if mx, mn := slices.Max(u), slices.Min(u); float64(mx) > 1.7*float64(mn) {
		t.Errorf("uniform: the busiest user drew %d, the idlest %d", mx, mn)
	}
}
