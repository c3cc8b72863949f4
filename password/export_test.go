package password

// DummyHash exposes the unknown-user hash to tests.
func DummyHash(h *Hasher) []byte { return h.dummy }
