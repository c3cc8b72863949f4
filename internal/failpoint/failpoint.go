// Package failpoint marks the places between the durable steps of a long
// operation (an account deletion) where a test may stop the process, to
// prove that what is left is safe and can be completed. In a program no
// failpoint is enabled and Hit costs an atomic load.
package failpoint

import (
	"sync"
	"sync/atomic"
)

var (
	mu      sync.Mutex
	enabled atomic.Pointer[map[string]func()]
)

// Enable makes Hit(name) call f. Only tests enable failpoints.
func Enable(name string, f func()) {
	mu.Lock()
	defer mu.Unlock()
	m := map[string]func(){}
	if p := enabled.Load(); p != nil {
		for k, v := range *p {
			m[k] = v
		}
	}
	m[name] = f
	enabled.Store(&m)
}

// Hit calls the function enabled for name, if any.
func Hit(name string) {
	if p := enabled.Load(); p != nil {
		if f := (*p)[name]; f != nil {
			f()
		}
	}
}
