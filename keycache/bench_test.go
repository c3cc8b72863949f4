package keycache_test

import (
	"context"
	"crypto/rand"
	"strconv"
	"testing"

	"github.com/strongroom/strongroom/envelope"
	"github.com/strongroom/strongroom/keycache"
)

// BenchmarkGetHit is a read's data-key lookup with the key cached, from
// many goroutines at once: the lookup and the copy a request decrypts
// with.
func BenchmarkGetHit(b *testing.B) {
	c := keycache.New(keycache.Config{})
	ids := make([]string, 1000)
	k, _ := envelope.NewKey(rand.Reader)
	for i := range ids {
		ids[i] = strconv.Itoa(i)
		c.Put(ids[i], k)
	}
	load := func(context.Context) ([]byte, error) { b.Fatal("miss"); return nil, nil }
	b.RunParallel(func(pb *testing.PB) {
		n := 0
		for pb.Next() {
			k, err := c.Get(context.Background(), ids[n%len(ids)], load)
			if err != nil {
				b.Fatal(err)
			}
			k.Zero()
			n++
		}
	})
}
