// Package testrand is a deterministic stand-in for crypto/rand in the
// tests that pin stored formats: the same bytes every run, so a fixture
// can be written down once.
package testrand

// Counter reads the bytes 0, 1, 2, ... (wrapping at 255). The zero value
// starts at 0.
type Counter struct{ n byte }

// Read fills p with the next bytes; it never fails.
func (c *Counter) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = c.n
		c.n++
	}
	return len(p), nil
}
