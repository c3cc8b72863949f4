// Package envelope is Strongroom's encryption format.
//
// Design: every user has a random 256-bit data key (DEK). Records are
// sealed with AES-256-GCM under the owner's DEK, with a fresh random 12-byte
// nonce per encryption and associated data (AAD) that names the owner, the
// record id and the data_type, so a ciphertext moved onto another record,
// user or type fails to open. The DEK itself is only ever stored wrapped by
// the key manager's master key (KEK); rotating the KEK rewraps DEKs and never
// touches a record.
//
// A record's encrypted_value is lowercase hex of:
//
//	version (1 byte, 0x01) | nonce (12 bytes) | ciphertext | GCM tag (16 bytes)
//
// The version byte lets a later format coexist with this one.
package envelope

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// KeySize is the size of every key: AES-256.
const KeySize = 32

// FormatV1 is the version byte of the current record format.
const FormatV1 byte = 0x01

const (
	nonceSize = 12
	tagSize   = 16
)

// ErrOpen is returned for every ciphertext that does not decrypt: wrong
// key, edited bytes, other AAD, or a malformed encoding. One error for all,
// so a caller cannot learn which.
var ErrOpen = errors.New("envelope: ciphertext does not decrypt")

// Key is a 256-bit AES-GCM key. Its bytes are unexported and it prints as
// redacted, so it cannot reach a log by accident.
type Key struct {
	raw  [KeySize]byte
	aead cipher.AEAD
}

// NewKey returns a fresh random key read from r (crypto/rand.Reader in
// production).
func NewKey(r io.Reader) (*Key, error) {
	var b [KeySize]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return nil, fmt.Errorf("envelope: new key: %w", err)
	}
	k, err := KeyFromBytes(b[:])
	clear(b[:])
	return k, err
}

// KeyFromBytes returns a key holding a copy of b, which must be 32 bytes.
func KeyFromBytes(b []byte) (*Key, error) {
	if len(b) != KeySize {
		return nil, fmt.Errorf("envelope: key is %d bytes, want %d", len(b), KeySize)
	}
	k := &Key{}
	copy(k.raw[:], b)
	block, err := aes.NewCipher(k.raw[:])
	if err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	if k.aead, err = cipher.NewGCM(block); err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	return k, nil
}

// Bytes returns a copy of the key's bytes, for wrapping. The caller zeroes
// it after use.
func (k *Key) Bytes() []byte { return append([]byte(nil), k.raw[:]...) }

// Equal reports whether both keys are the same, in constant time.
func (k *Key) Equal(o *Key) bool { return subtle.ConstantTimeCompare(k.raw[:], o.raw[:]) == 1 }

// Zero overwrites the key's bytes (best effort: the cipher's expanded key
// schedule stays until collected). The key is unusable afterwards.
func (k *Key) Zero() {
	clear(k.raw[:])
	k.aead = nil
}

// String never shows the key.
func (k *Key) String() string { return "envelope.Key(redacted)" }

// GoString never shows the key.
func (k *Key) GoString() string { return k.String() }

// Seal encrypts plaintext with a fresh nonce from r and returns
// nonce|ciphertext|tag.
func (k *Key) Seal(r io.Reader, plaintext, aad []byte) ([]byte, error) {
	out := make([]byte, nonceSize, nonceSize+len(plaintext)+tagSize)
	if _, err := io.ReadFull(r, out); err != nil {
		return nil, fmt.Errorf("envelope: nonce: %w", err)
	}
	return k.aead.Seal(out, out, plaintext, aad), nil
}

// Open decrypts nonce|ciphertext|tag made by Seal with the same aad. It
// returns ErrOpen for anything that does not decrypt.
func (k *Key) Open(sealed, aad []byte) ([]byte, error) {
	if k.aead == nil || len(sealed) < nonceSize+tagSize {
		return nil, ErrOpen
	}
	pt, err := k.aead.Open(nil, sealed[:nonceSize], sealed[nonceSize:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// RecordAAD returns the associated data that binds a record's ciphertext to
// its owner, id and data_type. Each field is length-prefixed, so no two
// different triples give the same bytes.
func RecordAAD(ownerID, recordID, dataType string) []byte {
	const label = "strongroom/record/v1"
	b := make([]byte, 0, len(label)+12+len(ownerID)+len(recordID)+len(dataType))
	b = append(b, label...)
	for _, f := range []string{ownerID, recordID, dataType} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

// SealRecord encrypts a record value and returns its encrypted_value.
func SealRecord(k *Key, r io.Reader, aad, plaintext []byte) (string, error) {
	sealed, err := k.Seal(r, plaintext, aad)
	if err != nil {
		return "", err
	}
	out := make([]byte, 0, 1+len(sealed))
	out = append(out, FormatV1)
	out = append(out, sealed...)
	return hex.EncodeToString(out), nil
}

// OpenRecord decodes and decrypts an encrypted_value. It returns ErrOpen for
// a malformed encoding, an unknown format version, or a failed decryption.
func OpenRecord(k *Key, aad []byte, encrypted string) ([]byte, error) {
	if len(encrypted) < 2*(1+nonceSize+tagSize) || len(encrypted)%2 != 0 {
		return nil, ErrOpen
	}
	raw, err := hex.DecodeString(encrypted)
	if err != nil || raw[0] != FormatV1 {
		return nil, ErrOpen
	}
	return k.Open(raw[1:], aad)
}
