package keycache

import "errors"

var errKeySize = errors.New("keycache: loaded key has the wrong size")

// heapKeys is n bytes of the Go heap, zeroed when released.
func heapKeys(n int) ([]byte, func(), bool) {
	b := make([]byte, n)
	return b, func() { clear(b) }, false
}
