package password_test

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/strongroom/strongroom/password"
)

// BenchmarkVerify is one login's password check at the default cost 12.
func BenchmarkVerify(b *testing.B) {
	h := mustHasher(b, password.DefaultCost)
	ctx := context.Background()
	hash, salt, _ := h.Hash(ctx, rand.Reader, "StrongP@ssw0rd1!")
	for b.Loop() {
		if ok, err := h.Verify(ctx, "StrongP@ssw0rd1!", hash, salt); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
