package localkms_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/localkms"
)

func open(t *testing.T, path string) *localkms.KMS {
	t.Helper()
	k, err := localkms.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestWrapUnwrap(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), localkms.FileName)
	k := open(t, path)
	if !k.Created() {
		t.Fatal("new keyring not reported as created")
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("keyring mode = %v, %v; want 0600", fi.Mode(), err)
	}
	dek := bytes.Repeat([]byte{7}, 32)
	w, err := k.Wrap(ctx, "alice", dek)
	if err != nil {
		t.Fatal(err)
	}
	if w.Version != 1 || !strings.HasPrefix(w.Ciphertext, "sr:v1:") {
		t.Fatalf("wrapped = %+v", w)
	}
	got, err := strongroom.UnwrapOne(ctx, k, "alice", w)
	if err != nil || !bytes.Equal(got, dek) {
		t.Fatalf("Unwrap = %x, %v", got, err)
	}
	if _, err := strongroom.UnwrapOne(ctx, k, "bob", w); err == nil {
		t.Fatal("a wrapped key unwrapped for another owner")
	}
	bad := w
	bad.Version = 2
	if _, err := strongroom.UnwrapOne(ctx, k, "alice", bad); err == nil {
		t.Fatal("mismatched version accepted")
	}
	if _, err := strongroom.UnwrapOne(ctx, k, "alice", strongroom.WrappedKey{Ciphertext: "sr:v1:!!!", Version: 1}); err == nil {
		t.Fatal("garbage accepted")
	}
}

func TestRotateRewrapRetire(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), localkms.FileName)
	k := open(t, path)
	dek := bytes.Repeat([]byte{9}, 32)
	w1, _ := k.Wrap(ctx, "alice", dek)

	v, err := k.Rotate(ctx)
	if err != nil || v != 2 {
		t.Fatalf("Rotate = %d, %v", v, err)
	}
	if got, err := strongroom.UnwrapOne(ctx, k, "alice", w1); err != nil || !bytes.Equal(got, dek) {
		t.Fatalf("old version no longer unwraps after rotate: %v", err)
	}
	w2, _ := k.Wrap(ctx, "bob", dek)
	if w2.Version != 2 {
		t.Fatalf("new wrap used v%d", w2.Version)
	}
	re, err := k.Rewrap(ctx, []strongroom.UserKey{{UserID: "alice", Key: w1}})
	if err != nil || re[0].Version != 2 || re[0].Ciphertext == w1.Ciphertext {
		t.Fatalf("Rewrap = %+v, %v", re, err)
	}
	if got, _ := strongroom.UnwrapOne(ctx, k, "alice", re[0]); !bytes.Equal(got, dek) {
		t.Fatal("rewrapped key gives another DEK")
	}
	if err := k.Retire(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if newest, oldest, _ := k.Versions(ctx); newest != 2 || oldest != 2 {
		t.Fatalf("Versions = %d, %d", newest, oldest)
	}
	if _, err := strongroom.UnwrapOne(ctx, k, "alice", w1); err == nil {
		t.Fatal("retired version still unwraps")
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), `"version": 1`) {
		t.Fatal("retired key still in the file")
	}
}

// The server and the rotate-master-key command share one keyring.
func TestSecondProcessSeesRotation(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), localkms.FileName)
	server := open(t, path)
	operator := open(t, path)
	if operator.Created() {
		t.Fatal("second open made a new keyring")
	}
	if _, err := operator.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	dek := bytes.Repeat([]byte{1}, 32)
	w, err := server.Wrap(ctx, "carol", dek)
	if err != nil || w.Version != 2 {
		t.Fatalf("server wrapped with v%d after another process rotated (%v)", w.Version, err)
	}
	if got, err := strongroom.UnwrapOne(ctx, operator, "carol", w); err != nil || !bytes.Equal(got, dek) {
		t.Fatalf("operator Unwrap = %v", err)
	}
}

func TestRetireKeepsNewest(t *testing.T) {
	ctx := context.Background()
	k := open(t, filepath.Join(t.TempDir(), localkms.FileName))
	if err := k.Retire(ctx, 99); err != nil {
		t.Fatal(err)
	}
	if newest, _, _ := k.Versions(ctx); newest != 1 {
		t.Fatalf("newest = %d after over-eager Retire", newest)
	}
	if _, err := k.Wrap(ctx, "a", make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
}
