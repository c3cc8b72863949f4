package vault_test

import (
	"testing"

	"github.com/strongroom/strongroom/vault"
)

// TestWrapped pins how a Transit ciphertext is stored: as it is, with the
// key version from its "vault:v<N>:" prefix; anything else is refused.
func TestWrapped(t *testing.T) {
	w, err := vault.Wrapped("vault:v12:c2VhbGVk")
	if err != nil || w.Ciphertext != "vault:v12:c2VhbGVk" || w.Version != 12 {
		t.Fatalf("Wrapped: %+v, %v", w, err)
	}
	for _, bad := range []string{"", "vault:v0:x", "vault:v:x", "vault:vx:x", "vault:v3", "v3:x", "sr:v1:x"} {
		if w, err := vault.Wrapped(bad); err == nil {
			t.Errorf("Wrapped(%q) = %+v, accepted", bad, w)
		}
	}
}
