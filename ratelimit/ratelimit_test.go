package ratelimit_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/strongroom/strongroom/ratelimit"
)

func TestBurstThenRefill(t *testing.T) {
	now := time.Unix(0, 0)
	l := ratelimit.New(20*time.Second, 3, 100, func() time.Time { return now })
	for i := 0; i < 3; i++ {
		if ok, _ := l.Allow("u"); !ok {
			t.Fatalf("event %d refused within burst", i+1)
		}
	}
	ok, wait := l.Allow("u")
	if ok || wait != 20*time.Second {
		t.Fatalf("fourth event: ok=%v wait=%v; want refused, 20s", ok, wait)
	}
	if ok, _ := l.Allow("other"); !ok {
		t.Fatal("another key was limited")
	}
	now = now.Add(20 * time.Second)
	if ok, _ := l.Allow("u"); !ok {
		t.Fatal("not refilled after one interval")
	}
	if ok, _ := l.Allow("u"); ok {
		t.Fatal("refilled more than one token")
	}
}

func TestKeyBound(t *testing.T) {
	now := time.Unix(0, 0)
	l := ratelimit.New(time.Minute, 1, 10, func() time.Time { return now })
	for i := 0; i < 1000; i++ {
		l.Allow(string(rune(0x100 + i)))
		if l.Len() > 10 {
			t.Fatalf("%d keys tracked, bound is 10", l.Len())
		}
	}
}

// A full table forgets the least recently used key: an attacker who keeps
// using their address stays limited while a flood of new keys passes.
func TestFullTableKeepsBusiestKey(t *testing.T) {
	now := time.Unix(0, 0)
	l := ratelimit.New(time.Hour, 2, 10, func() time.Time { return now })
	for i := 0; i < 2; i++ {
		l.Allow("attacker")
	}
	if ok, _ := l.Allow("attacker"); ok {
		t.Fatal("attacker not limited after the burst")
	}
	for i := 0; i < 1000; i++ {
		l.Allow(string(rune(0x100 + i))) // new keys fill the table
		if ok, _ := l.Allow("attacker"); ok {
			t.Fatalf("attacker's bucket was forgotten after %d new keys", i+1)
		}
	}
	if l.Len() != 10 {
		t.Fatalf("%d keys tracked, want 10", l.Len())
	}
	// The idle keys went first: the newest keys are still tracked and limited.
	last := string(rune(0x100 + 999))
	l.Allow(last)
	if ok, _ := l.Allow(last); ok {
		t.Fatal("the most recent key's bucket was forgotten")
	}
}

func TestAllowManyAtOnce(t *testing.T) {
	now := time.Unix(0, 0)
	l := ratelimit.New(time.Second, 10, 100, func() time.Time { return now })
	if ok, _ := l.AllowN("u", 7); !ok {
		t.Fatal("7 of 10 refused")
	}
	if ok, wait := l.AllowN("u", 4); ok || wait != time.Second {
		t.Fatalf("4 more: ok=%v wait=%v; want refused for 1s", ok, wait)
	}
	if ok, _ := l.AllowN("u", 3); !ok {
		t.Fatal("the last 3 refused")
	}
	now = now.Add(10 * time.Second)
	if ok, _ := l.AllowN("u", 25); !ok {
		t.Fatal("more than the burst, on a full budget, refused")
	}
}

// BenchmarkKeyMemory reports what a limiter holds per key remembered, at
// its bound of keys (the memory an address flood can make it hold).
func BenchmarkKeyMemory(b *testing.B) {
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		l := ratelimit.New(time.Second, 10, 100_000, nil)
		for k := 0; k < 100_000; k++ {
			l.Allow(fmt.Sprintf("2001:db8:%x:%x::", k>>16, k&0xffff))
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/100_000, "bytes/key")
		runtime.KeepAlive(l)
	}
}
