package main

import (
	"os"
	"path/filepath"
)

// pendingFile is a file written atomically: a temp file (mode 0600) next
// to its final name, which commit syncs and renames into place, so a
// reader sees the old file, no file or the whole new one, never half of
// one, and after a crash the new content is on disk or absent, not torn.
type pendingFile struct {
	f    *os.File
	path string
	done bool
}

// createPending opens the temp file for path. Opening it first lets a
// caller find out that path cannot be written before it does what cannot
// be undone (initializing Vault).
func createPending(path string) (*pendingFile, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(0o600); err != nil { // CreateTemp's mode, whatever the umask
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &pendingFile{f: f, path: path}, nil
}

// commit writes data, syncs it, renames the file over path and syncs the
// directory, so the rename itself survives a crash.
func (p *pendingFile) commit(data []byte) error {
	if _, err := p.f.Write(data); err != nil {
		return err
	}
	if err := p.f.Sync(); err != nil {
		return err
	}
	if err := p.f.Close(); err != nil {
		return err
	}
	if err := os.Rename(p.f.Name(), p.path); err != nil {
		return err
	}
	p.done = true
	d, err := os.Open(filepath.Dir(p.path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// abort removes the temp file unless commit renamed it. Deferred after
// createPending, it cleans up after any failure.
func (p *pendingFile) abort() {
	if !p.done {
		p.f.Close()
		os.Remove(p.f.Name())
	}
}

// writeFileAtomic replaces path with data, mode 0600, atomically.
func writeFileAtomic(path string, data []byte) error {
	p, err := createPending(path)
	if err != nil {
		return err
	}
	defer p.abort()
	return p.commit(data)
}
