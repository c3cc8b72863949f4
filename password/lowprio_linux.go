package password

import (
	"runtime"
	"syscall"
)

// niceness of the threads that run bcrypt. Under contention the kernel
// gives a nice-10 thread about a tenth of a normal thread's share, so
// ordinary requests keep their latency while logins pile up; with no
// contention bcrypt still gets a whole core.
const niceness = 10

// lowPriority runs f on a fresh OS thread with a lower scheduling priority.
// The goroutine exits still locked to that thread, so the runtime discards
// the thread rather than reuse it at the lowered priority (raising it back
// needs a privilege the server should not have).
func lowPriority(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), niceness)
		f()
	}()
	<-done
}
