package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/sqlite"
)

// BenchmarkTakeLimit is what a rate limit costs a request on SQLite: one
// upsert on the writer, over 10 000 budgets in use.
func BenchmarkTakeLimit(b *testing.B) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), sqlite.FileName))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	r := strongroom.Rate{Every: time.Millisecond, Burst: 1 << 30}
	now := time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := db.TakeLimit(ctx, fmt.Sprintf("values-read:%d", i%10_000), r, 10, now); err != nil {
			b.Fatal(err)
		}
	}
}
