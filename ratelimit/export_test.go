package ratelimit

// Remembered is how many keys s holds a credit or a refusal of.
func (s *Shared) Remembered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.credit) + len(s.full)
}

// MaxKeys is maxKeys, for tests.
const MaxKeys = maxKeys
