// Package localkms is the embedded key manager: versioned master keys
// (KEKs) kept in a keyring file (mode 0600) in the data directory.
//
// It is meant for one machine. The keyring sits next to the database, so a
// copy of the whole data directory can decrypt everything; production uses
// Vault Transit, where the master key never leaves Vault.
//
// A wrapped data key reads "sr:v<version>:<base64(nonce|ciphertext|tag)>",
// AES-256-GCM under the KEK of that version with the owner's id as
// associated data, so a wrapped key copied to another user does not unwrap.
// Several processes may share the keyring (the server and the
// rotate-master-key command): writes take an flock and replace the file
// atomically, and readers reload it when it changes.
package localkms

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/envelope"
	"github.com/strongroom/strongroom/internal/pace"
)

var _ strongroom.KeyManager = (*KMS)(nil)

// FileName is the keyring's name inside the data directory.
const FileName = "keyring.json"

// KMS is the local key manager. It is safe for concurrent use.
type KMS struct {
	path string
	rand io.Reader

	mu      sync.RWMutex
	keys    map[int]*envelope.Key
	newest  int
	fileID  fileID
	created bool
}

// Open loads the keyring at path, creating it with a first KEK version if
// it does not exist.
func Open(path string) (*KMS, error) {
	k := &KMS{path: path, rand: rand.Reader}
	err := k.withFileLock(func() error {
		if _, err := os.Stat(path); os.IsNotExist(err) {
			key, err := envelope.NewKey(k.rand)
			if err != nil {
				return err
			}
			k.created = true
			return writeKeyring(path, &keyring{Versions: []kekVersion{newVersion(1, key)}})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("localkms: open %s: %w", path, err)
	}
	if err := k.reload(true); err != nil {
		return nil, err
	}
	return k, nil
}

// Created reports whether Open made a new keyring.
func (k *KMS) Created() bool { return k.created }

func wrapAAD(owner string) []byte { return []byte("strongroom/dek/v1\x00" + owner) }

// Wrap encrypts dek under the newest KEK version.
func (k *KMS) Wrap(_ context.Context, owner string, dek []byte) (strongroom.WrappedKey, error) {
	if err := k.reload(false); err != nil {
		return strongroom.WrappedKey{}, err
	}
	k.mu.RLock()
	v, kek := k.newest, k.keys[k.newest]
	k.mu.RUnlock()
	return k.wrapWith(v, kek, owner, dek)
}

func (k *KMS) wrapWith(v int, kek *envelope.Key, owner string, dek []byte) (strongroom.WrappedKey, error) {
	sealed, err := kek.Seal(k.rand, dek, wrapAAD(owner))
	if err != nil {
		return strongroom.WrappedKey{}, strongroom.Internal("localkms: wrap", err)
	}
	return strongroom.WrappedKey{
		Ciphertext: "sr:v" + strconv.Itoa(v) + ":" + base64.StdEncoding.EncodeToString(sealed),
		Version:    v,
	}, nil
}

// Unwrap decrypts wrapped data keys, each on its own: one that does not
// decrypt fails alone.
func (k *KMS) Unwrap(_ context.Context, keys []strongroom.UserKey) ([]strongroom.Unwrapped, error) {
	out := make([]strongroom.Unwrapped, len(keys))
	for i, uk := range keys {
		out[i].DEK, out[i].Err = k.unwrap(uk.UserID, uk.Key)
	}
	return out, nil
}

func (k *KMS) unwrap(owner string, w strongroom.WrappedKey) ([]byte, error) {
	v, sealed, err := parseWrapped(w.Ciphertext)
	if err != nil || v != w.Version {
		return nil, strongroom.Internal("localkms: unwrap", fmt.Errorf("malformed wrapped key for user %s", owner))
	}
	kek, err := k.version(v)
	if err != nil {
		return nil, err
	}
	dek, err := kek.Open(sealed, wrapAAD(owner))
	if err != nil {
		return nil, strongroom.Internal("localkms: unwrap", fmt.Errorf("wrapped key of user %s does not decrypt under KEK v%d", owner, v))
	}
	return dek, nil
}

// version returns the KEK of version v, reloading the keyring once if
// another process rotated it.
func (k *KMS) version(v int) (*envelope.Key, error) {
	k.mu.RLock()
	kek := k.keys[v]
	k.mu.RUnlock()
	if kek != nil {
		return kek, nil
	}
	if err := k.reload(true); err != nil {
		return nil, err
	}
	k.mu.RLock()
	kek = k.keys[v]
	k.mu.RUnlock()
	if kek == nil {
		return nil, strongroom.Internal("localkms", fmt.Errorf("master key version %d is not in the keyring", v))
	}
	return kek, nil
}

func parseWrapped(s string) (int, []byte, error) {
	rest, ok := strings.CutPrefix(s, "sr:v")
	if !ok {
		return 0, nil, fmt.Errorf("no sr:v prefix")
	}
	vs, b64, ok := strings.Cut(rest, ":")
	if !ok {
		return 0, nil, fmt.Errorf("no version separator")
	}
	v, err := strconv.Atoi(vs)
	if err != nil || v < 1 {
		return 0, nil, fmt.Errorf("bad version")
	}
	sealed, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return 0, nil, err
	}
	return v, sealed, nil
}

// Rewrap re-encrypts each wrapped key under the newest KEK version.
func (k *KMS) Rewrap(_ context.Context, keys []strongroom.UserKey) ([]strongroom.WrappedKey, error) {
	if err := k.reload(false); err != nil {
		return nil, err
	}
	k.mu.RLock()
	v, kek := k.newest, k.keys[k.newest]
	k.mu.RUnlock()
	out := make([]strongroom.WrappedKey, len(keys))
	pacer := pace.New(16, 3) // a rotation's batch: background work, requests first
	for i, uk := range keys {
		pacer.Step()
		dek, err := k.unwrap(uk.UserID, uk.Key)
		if err != nil {
			return nil, err
		}
		out[i], err = k.wrapWith(v, kek, uk.UserID, dek)
		clear(dek)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Rotate adds a new KEK version and makes it the one new keys are wrapped with.
func (k *KMS) Rotate(context.Context) (int, error) {
	var v int
	err := k.withFileLock(func() error {
		kr, err := readKeyring(k.path)
		if err != nil {
			return err
		}
		key, err := envelope.NewKey(k.rand)
		if err != nil {
			return err
		}
		v = kr.newest() + 1
		kr.Versions = append(kr.Versions, newVersion(v, key))
		return writeKeyring(k.path, kr)
	})
	if err != nil {
		return 0, strongroom.Internal("localkms: rotate", err)
	}
	return v, k.reload(true)
}

// Retire deletes the key material of every version older than below. The
// newest version is always kept.
func (k *KMS) Retire(_ context.Context, below int) error {
	err := k.withFileLock(func() error {
		kr, err := readKeyring(k.path)
		if err != nil {
			return err
		}
		newest := kr.newest()
		kept := kr.Versions[:0]
		for _, kv := range kr.Versions {
			if kv.Version >= below || kv.Version == newest {
				kept = append(kept, kv)
			}
		}
		kr.Versions = kept
		return writeKeyring(k.path, kr)
	})
	if err != nil {
		return strongroom.Internal("localkms: retire", err)
	}
	return k.reload(true)
}

// Versions returns the newest and oldest KEK versions in the keyring.
func (k *KMS) Versions(context.Context) (int, int, error) {
	if err := k.reload(false); err != nil {
		return 0, 0, err
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	oldest := k.newest
	for v := range k.keys {
		oldest = min(oldest, v)
	}
	return k.newest, oldest, nil
}

// Ping checks that the keyring file is still readable.
func (k *KMS) Ping(context.Context) error {
	if _, err := os.Stat(k.path); err != nil {
		return strongroom.Unavailable("key store unavailable", err)
	}
	return nil
}

// reload rereads the keyring if force is set or the file changed.
func (k *KMS) reload(force bool) error {
	id, err := statID(k.path)
	if err != nil {
		return strongroom.Unavailable("key store unavailable", err)
	}
	k.mu.RLock()
	same := id == k.fileID
	k.mu.RUnlock()
	if same && !force {
		return nil
	}
	kr, err := readKeyring(k.path)
	if err != nil {
		return strongroom.Internal("localkms: load keyring", err)
	}
	keys := make(map[int]*envelope.Key, len(kr.Versions))
	for _, kv := range kr.Versions {
		raw, err := base64.StdEncoding.DecodeString(kv.Key)
		if err != nil {
			return strongroom.Internal("localkms", fmt.Errorf("keyring version %d: bad key encoding", kv.Version))
		}
		key, err := envelope.KeyFromBytes(raw)
		clear(raw)
		if err != nil {
			return strongroom.Internal("localkms", fmt.Errorf("keyring version %d: %w", kv.Version, err))
		}
		keys[kv.Version] = key
	}
	k.mu.Lock()
	k.keys, k.newest, k.fileID = keys, kr.newest(), id
	k.mu.Unlock()
	return nil
}

// withFileLock runs f holding an exclusive flock on the keyring's lock file.
func (k *KMS) withFileLock(f func() error) error {
	if err := os.MkdirAll(filepath.Dir(k.path), 0o700); err != nil {
		return err
	}
	lf, err := os.OpenFile(k.path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	defer syscall.Flock(int(lf.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing releases it too
	return f()
}

// fileID tells whether the keyring file was replaced.
type fileID struct {
	ino   uint64
	mtime time.Time
	size  int64
}

func statID(path string) (fileID, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileID{}, err
	}
	id := fileID{mtime: fi.ModTime(), size: fi.Size()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.ino = st.Ino
	}
	return id, nil
}
