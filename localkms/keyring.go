package localkms

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/strongroom/strongroom/envelope"
)

// keyring is the file's content.
type keyring struct {
	Format   string       `json:"format"`
	Versions []kekVersion `json:"versions"`
}

type kekVersion struct {
	Version int       `json:"version"`
	Key     string    `json:"key"` // base64 of 32 bytes
	Created time.Time `json:"created"`
}

const keyringFormat = "strongroom-keyring-v1"

func newVersion(v int, key *envelope.Key) kekVersion {
	raw := key.Bytes()
	defer clear(raw)
	return kekVersion{Version: v, Key: base64.StdEncoding.EncodeToString(raw), Created: time.Now().UTC()}
}

func (kr *keyring) newest() int {
	n := 0
	for _, kv := range kr.Versions {
		n = max(n, kv.Version)
	}
	return n
}

func readKeyring(path string) (*keyring, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var kr keyring
	if err := json.Unmarshal(b, &kr); err != nil {
		return nil, fmt.Errorf("keyring %s is not valid JSON", path)
	}
	if kr.Format != keyringFormat || len(kr.Versions) == 0 {
		return nil, fmt.Errorf("keyring %s: unknown format or no keys", path)
	}
	return &kr, nil
}

// writeKeyring replaces the keyring atomically: a temp file with mode 0600,
// synced, renamed over the old one, then the directory synced.
func writeKeyring(path string, kr *keyring) error {
	kr.Format = keyringFormat
	sortVersions(kr.Versions)
	b, err := json.MarshalIndent(kr, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".keyring-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func sortVersions(vs []kekVersion) {
	sort.Slice(vs, func(i, j int) bool { return vs[i].Version < vs[j].Version })
}
