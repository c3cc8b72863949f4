package localkms

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/envelope"
	"github.com/strongroom/strongroom/internal/testrand"
)

// The keyring file and the wrapped-key format are pinned here: a drift in
// either would leave every data key, and so every record, unreadable. The
// fixtures were computed once from the code; the wrapped key is re-derived
// below with crypto/aes and crypto/cipher, so the test states the format.

// fixtureKEK is the master key of the fixture keyring: bytes 0..31.
var fixtureKEK = func() []byte {
	b := make([]byte, 32)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}()

// fixtureKeyring is keyring.json as writeKeyring writes it: versions in
// order, the key as standard base64, the creation time in RFC 3339 UTC.
const fixtureKeyring = `{
  "format": "strongroom-keyring-v1",
  "versions": [
    {
      "version": 1,
      "key": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
      "created": "2024-01-02T03:04:05Z"
    },
    {
      "version": 2,
      "key": "ISEhISEhISEhISEhISEhISEhISEhISEhISEhISEhISE=",
      "created": "2024-02-03T04:05:06Z"
    }
  ]
}`

func TestKeyringFileFixture(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	kek1, _ := envelope.KeyFromBytes(fixtureKEK)
	kek2, _ := envelope.KeyFromBytes(bytes.Repeat([]byte{0x21}, 32))
	v1 := newVersion(1, kek1)
	v1.Created = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	v2 := newVersion(2, kek2)
	v2.Created = time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)
	// Written out of order: the file keeps versions sorted.
	if err := writeKeyring(path, &keyring{Versions: []kekVersion{v2, v1}}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != fixtureKeyring {
		t.Errorf("keyring.json =\n%s\nwant\n%s", got, fixtureKeyring)
	}
	// And a keyring written by an earlier version is read.
	k, err := Open(writeFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	newest, oldest, err := k.Versions(context.Background())
	if err != nil || newest != 2 || oldest != 1 || k.Created() {
		t.Fatalf("Versions = %d, %d, %v; created %v", newest, oldest, err, k.Created())
	}
}

func writeFixture(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), FileName)
	if err := os.WriteFile(path, []byte(fixtureKeyring), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestWrappedKeyFixture(t *testing.T) {
	ctx := context.Background()
	k, err := Open(writeFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	const owner = "65a000000000000000000001"
	dek := bytes.Repeat([]byte{0x42}, 32)
	want := map[int]string{
		1: "sr:v1:AAECAwQFBgcICQoLBUCUWYengFnPA9XJ86s6L8GUxXayOR0+eiWnx18rQvDuRxojF1/DsaUPqUXfTOhN",
		2: "sr:v2:AAECAwQFBgcICQoLd1MWh2cz/gJOqgNCQmpI6yNNMxJ0WwDO2WK9KhotSyI6xGlJxquolZ/4iCuNBDZG",
	}
	// Wrap uses the newest version; a key under an older one is made the
	// same way, with that version's KEK.
	k.rand = &testrand.Counter{}
	w, err := k.Wrap(ctx, owner, dek)
	if err != nil {
		t.Fatal(err)
	}
	if w.Ciphertext != want[2] || w.Version != 2 {
		t.Errorf("Wrap = %s (v%d)\nwant   %s (v2)", w.Ciphertext, w.Version, want[2])
	}
	k.rand = &testrand.Counter{}
	if w, err := k.wrapWith(1, k.keys[1], owner, dek); err != nil || w.Ciphertext != want[1] {
		t.Errorf("wrap under v1 = %s, %v\nwant            %s", w.Ciphertext, err, want[1])
	}
	keks := map[int][]byte{1: fixtureKEK, 2: bytes.Repeat([]byte{0x21}, 32)}
	for v, want := range want {
		got, err := strongroom.UnwrapOne(ctx, k, owner, strongroom.WrappedKey{Ciphertext: want, Version: v})
		if err != nil || !bytes.Equal(got, dek) {
			t.Errorf("Unwrap(fixture v%d) = %x, %v", v, got, err)
		}
		// The format: "sr:v<version>:" + base64(nonce ‖ AES-256-GCM(kek,
		// nonce, dek, aad "strongroom/dek/v1" 0x00 owner)).
		block, _ := aes.NewCipher(keks[v])
		gcm, _ := cipher.NewGCM(block)
		nonce := make([]byte, 12)
		for i := range nonce {
			nonce[i] = byte(i)
		}
		sealed := gcm.Seal(append([]byte(nil), nonce...), nonce, dek, []byte("strongroom/dek/v1\x00"+owner))
		if again := "sr:v" + strconv.Itoa(v) + ":" + base64.StdEncoding.EncodeToString(sealed); again != want {
			t.Errorf("re-derived v%d wrapped key = %s, not the fixture", v, again)
		}
	}
}
