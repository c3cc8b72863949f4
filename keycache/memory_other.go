//go:build !linux

package keycache

// allocKeys returns n bytes of the heap for keys: elsewhere than on Linux
// they are neither locked nor kept out of core dumps.
func allocKeys(n int) (b []byte, release func(), locked bool) { return heapKeys(n) }
