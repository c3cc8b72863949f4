package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/audit"
	"github.com/strongroom/strongroom/sqlite"
)

// BenchmarkAppendAudit measures one append of a batch of record reads, by
// many users or one: what the trail costs the read path.
func BenchmarkAppendAudit(b *testing.B) {
	for _, users := range []int{1, 1000} {
		for _, batch := range []int{100, 1000} {
			b.Run(fmt.Sprintf("users=%d/batch=%d", users, batch), func(b *testing.B) {
				ctx := context.Background()
				db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), sqlite.FileName))
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				link := audit.Link(make([]byte, 32))
				n := 0
				cpu0 := cpuTime()
				b.ResetTimer()
				for range b.N {
					events := make([]*strongroom.AuditEvent, batch)
					for i := range events {
						n++
						events[i] = &strongroom.AuditEvent{Time: time.Now(), Type: strongroom.AuditRecordRead, Outcome: strongroom.AuditSuccess,
							UserID: fmt.Sprintf("%024x", n*7919%users), Target: fmt.Sprintf("%024x", n), Client: "127.0.0.1", RequestID: "01J0000000000000000000000A"}
					}
					if err := db.AppendAudit(ctx, events, link); err != nil {
						b.Fatal(err)
					}
				}
				// CPU time, not the clock's: on a shared machine it is what
				// the append costs the server.
				b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N*batch), "cpu-µs/event")
			})
		}
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
