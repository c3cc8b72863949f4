package keycache_test

import (
	"context"
	"crypto/rand"
	"strconv"
	"testing"
	"time"

	"github.com/strongroom/strongroom/envelope"
	"github.com/strongroom/strongroom/keycache"
)

// BenchmarkGetHit is a read's data-key lookup with the key cached, from
// many goroutines at once.
func BenchmarkGetHit(b *testing.B) {
	c := keycache.New(time.Minute, 10_000, nil)
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = strconv.Itoa(i)
		k, _ := envelope.NewKey(rand.Reader)
		c.Put(ids[i], k)
	}
	load := func(context.Context) (*envelope.Key, error) { b.Fatal("miss"); return nil, nil }
	b.RunParallel(func(pb *testing.PB) {
		n := 0
		for pb.Next() {
			if _, err := c.Get(context.Background(), ids[n%len(ids)], load); err != nil {
				b.Fatal(err)
			}
			n++
		}
	})
}
