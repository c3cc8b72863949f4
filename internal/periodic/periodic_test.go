package periodic

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestGate(t *testing.T) {
	var g Gate
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if !g.Due(t0, time.Minute) {
		t.Fatal("the first call is not due")
	}
	if g.Due(t0.Add(59*time.Second), time.Minute) {
		t.Fatal("due again within the interval")
	}
	if !g.Due(t0.Add(time.Minute), time.Minute) {
		t.Fatal("not due after the interval")
	}
	if !g.Due(t0.Add(-time.Hour), time.Minute) {
		t.Fatal("a clock that stepped back must not stop the work for good")
	}
	// Of many callers at once, one runs the work.
	var g2 Gate
	var ran atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if g2.Due(t0, time.Minute) {
				ran.Add(1)
			}
		}()
	}
	wg.Wait()
	if ran.Load() != 1 {
		t.Fatalf("%d of 50 parallel callers ran the work, want 1", ran.Load())
	}
}
