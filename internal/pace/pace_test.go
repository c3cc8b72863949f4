package pace_test

import (
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/strongroom/strongroom/internal/pace"
)

// With one P, another goroutine gets a turn every few steps of paced work,
// rather than only at the runtime's forced preemptions every 10 ms.
func TestPacerYields(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var turns atomic.Int64
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				turns.Add(1)
				runtime.Gosched()
			}
		}
	}()
	runtime.Gosched()
	const steps, every = 4000, 4
	p := pace.New(every, 0)
	sink := 0
	for i := range steps {
		for j := range 1000 { // a few microseconds of work per step
			sink += i ^ j
		}
		p.Step()
	}
	close(stop)
	if got := turns.Load(); got < steps/every/2 {
		t.Fatalf("another goroutine ran %d times during %d yields (sink %d)", got, steps/every, sink)
	}
}
