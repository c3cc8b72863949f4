package keycache

import "golang.org/x/sys/unix"

// allocKeys returns n bytes of memory of their own for keys: mapped
// anonymously, left out of core dumps (MADV_DONTDUMP) and locked out of
// swap if the process may lock that much (RLIMIT_MEMLOCK). release zeroes
// and unmaps it.
func allocKeys(n int) (b []byte, release func(), locked bool) {
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return heapKeys(n)
	}
	_ = unix.Madvise(b, unix.MADV_DONTDUMP)
	locked = unix.Mlock(b) == nil
	return b, func() {
		clear(b)
		_ = unix.Munmap(b)
	}, locked
}
