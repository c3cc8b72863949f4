package metrics

import (
	"context"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
)

// The cost metrics add to a request: its count and latency, and one
// store call timed (a read of one record, its data key cached, makes one).
func BenchmarkObserveRequest(b *testing.B) {
	m := New()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.ObserveRequest("GET /sensitive-data/{id}", "GET", 200, time.Millisecond)
		}
	})
}

type nopStore struct{ strongroom.Store }

func (nopStore) UserKey(context.Context, string) (strongroom.WrappedKey, error) {
	return strongroom.WrappedKey{}, nil
}

func BenchmarkStoreCall(b *testing.B) {
	st := New().Store(nopStore{})
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, _ = st.UserKey(ctx, "u")
		}
	})
}
