package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/strongroom/strongroom/localkms"
	"github.com/strongroom/strongroom/sqlite"
)

// privateOnly are the permission bits the data directory and its files
// must not have: everything for group and others. The directory holds the
// database, the local master keyring and the generated secrets; whoever
// can read the keyring and the database can decrypt every record.
const privateOnly fs.FileMode = 0o077

// ownFiles are the entries Strongroom keeps in the data directory. Only
// these are tightened: the directory may be shared by mistake (a home
// directory, /var/lib), and other programs' files are not ours to change.
var ownFiles = []string{
	secretsFile,
	localkms.FileName, localkms.FileName + ".lock",
	sqlite.FileName, sqlite.FileName + "-wal", sqlite.FileName + "-shm",
	"outbox",
}

// securePermissions makes the data directory and Strongroom's entries in
// it (ownFiles: the database and its WAL, the keyring and its lock, the
// secrets file, the outbox) private to the user the server runs as,
// removing group and other bits and logging a warning for each one it
// tightened. One it cannot tighten (owned by someone else, a read-only
// filesystem) stops the start with an error saying what to fix. chmod is
// os.Chmod outside tests.
func securePermissions(dir string, log *slog.Logger, chmod func(string, fs.FileMode) error) error {
	if err := tighten(dir, log, chmod); err != nil {
		return err
	}
	for _, name := range ownFiles {
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			continue // not made yet
		}
		if err := tighten(path, log, chmod); err != nil {
			return err
		}
	}
	return nil
}

func tighten(path string, log *slog.Logger, chmod func(string, fs.FileMode) error) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	perm := fi.Mode().Perm()
	if perm&privateOnly == 0 {
		return nil
	}
	want := perm &^ privateOnly
	if err := chmod(path, want); err != nil {
		return fmt.Errorf("%s has mode %04o, open to group or others, and could not be made %04o "+
			"(change its mode or owner, or run Strongroom as its owner): %w", path, perm, want, err)
	}
	log.Warn("the data dir was open to group or others; tightened its permissions",
		"path", path, "mode_was", fmt.Sprintf("%04o", perm), "mode", fmt.Sprintf("%04o", want))
	return nil
}
