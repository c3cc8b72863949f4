package password

// DummyHash exposes the unknown-user hash to tests.
func DummyHash(h *Hasher) string { return h.dummy }
