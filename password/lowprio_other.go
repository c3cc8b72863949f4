//go:build !linux

package password

// lowPriority runs f; only Linux lowers the thread's priority.
func lowPriority(f func()) { f() }
