package password

// DummyHash exposes the unknown-user hash to tests.
func DummyHash(h *Hasher) string { return h.dummy }

// Prehash exposes the bcrypt input to the format tests.
func Prehash(h *Hasher, salt, password string) []byte { return h.prehash(salt, password) }
