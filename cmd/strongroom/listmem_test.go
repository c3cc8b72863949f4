package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strongroom/strongroom/service"
)

// BenchmarkListAtQuota measures the server's memory while 10 clients list,
// in parallel, the whole list of a user at the record quota: 10 000
// records, half card numbers, half 200-byte notes. It reports the peak of
// live heap objects above the idle heap, and the process's peak RSS
// (server and clients share the process; the clients discard what they
// read). Run: go test -run '^$' -bench ListAtQuota -benchtime 3x ./cmd/strongroom
func BenchmarkListAtQuota(b *testing.B) {
	s := startServer(b, testConfig(b, b.TempDir()))
	s.register("full", seedPassword)
	tok := s.login("full", seedPassword)
	u, err := s.Store.UserByUsername(context.Background(), "full")
	if err != nil {
		b.Fatal(err)
	}
	note := strings.Repeat("n", 200)
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < 10_000; i += 16 {
				dt, v := "card_number", fmt.Sprintf("4%015d", i)
				if i%2 == 1 {
					dt, v = "note", note
				}
				if _, err := s.Service.CreateRecord(context.Background(), &service.Principal{UserID: u.ID}, dt, v); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	list := func() int64 {
		req, _ := http.NewRequest("GET", s.URL+"/sensitive-data", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := client.Do(req)
		if err != nil {
			b.Error(err)
			return 0
		}
		defer res.Body.Close()
		n, _ := io.Copy(io.Discard, res.Body)
		return n
	}
	if n := list(); n < 1_500_000 {
		b.Fatalf("the list is %d bytes", n)
	}
	runtime.GC()
	idle := heapObjects()
	var peak, peakRSS atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if h := heapObjects(); h > peak.Load() {
				peak.Store(h)
			}
			if r := rss(); r > peakRSS.Load() {
				peakRSS.Store(r)
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var lists sync.WaitGroup
		for c := 0; c < 10; c++ {
			lists.Add(1)
			go func() { defer lists.Done(); list() }()
		}
		lists.Wait()
	}
	b.StopTimer()
	close(stop)
	<-sampled
	b.ReportMetric(float64(peak.Load()-idle)/(1<<20), "peak-heap-over-idle-MiB")
	b.ReportMetric(float64(peakRSS.Load())/(1<<20), "peak-RSS-MiB")
}

func heapObjects() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

// rss is the process's resident set size, from /proc (0 elsewhere).
func rss() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
