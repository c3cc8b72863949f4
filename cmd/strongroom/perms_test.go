package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strongroom/strongroom/localkms"
	"github.com/strongroom/strongroom/sqlite"
)

// openDataDir runs the server once in a fresh data dir, so it holds the
// database, the keyring and the generated secrets, then opens them to
// group and others as a careless copy or umask would.
func openDataDir(t *testing.T) (dir string, files []string) {
	t.Helper()
	dir = t.TempDir()
	s := startServer(t, testConfig(t, dir))
	s.register("perms", seedPassword)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	files = []string{secretsFile, localkms.FileName, localkms.FileName + ".lock", sqlite.FileName}
	for _, f := range files {
		if err := os.Chmod(filepath.Join(dir, f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "outbox"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, files
}

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// A data dir (and the files in it) open to group or others is made
// private at start, with a warning per path.
func TestDataDirPermissionsTightened(t *testing.T) {
	t.Parallel()
	dir, files := openDataDir(t)
	if err := os.WriteFile(filepath.Join(dir, "not-ours.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(dir, "not-ours.txt"), 0o644) // whatever the umask
	s := startServer(t, testConfig(t, dir))
	if got := mode(t, dir); got != 0o700 {
		t.Errorf("data dir mode %04o, want 0700", got)
	}
	for _, f := range files {
		if got := mode(t, filepath.Join(dir, f)); got != 0o600 {
			t.Errorf("%s mode %04o, want 0600", f, got)
		}
	}
	if got := mode(t, filepath.Join(dir, "outbox")); got != 0o700 {
		t.Errorf("outbox mode %04o, want 0700", got)
	}
	// Only Strongroom's own files: another program's file in a shared
	// directory is left alone.
	if got := mode(t, filepath.Join(dir, "not-ours.txt")); got != 0o644 {
		t.Errorf("a foreign file's mode changed to %04o", got)
	}
	logs := s.Logs.String()
	for _, p := range append(files, "", "outbox") {
		want := `"path":"` + filepath.Join(dir, p) + `","mode_was":"`
		if !strings.Contains(logs, want) {
			t.Errorf("no warning for %s in the log:\n%s", filepath.Join(dir, p), logs)
		}
	}
	if !strings.Contains(logs, `"level":"WARN","msg":"the data dir was open to group or others; tightened its permissions"`) {
		t.Errorf("no warning in the log:\n%s", logs)
	}
	s.login("perms", seedPassword) // and everything still works
}

// When the permissions cannot be tightened (another owner, a read-only
// mount), the server refuses to start and says what to fix.
func TestDataDirPermissionsRefused(t *testing.T) {
	t.Parallel()
	dir, _ := openDataDir(t)
	// Only the keyring cannot be changed: the dir itself can.
	m := NewMain()
	m.Config = testConfig(t, dir)
	m.Log = discardLog()
	m.chmod = func(path string, mode fs.FileMode) error {
		if filepath.Base(path) == localkms.FileName {
			return &fs.PathError{Op: "chmod", Path: path, Err: fs.ErrPermission}
		}
		return os.Chmod(path, mode)
	}
	err := m.Run(context.Background())
	m.Close()
	if err == nil {
		t.Fatal("started with a keyring readable by others")
	}
	keyring := filepath.Join(dir, localkms.FileName)
	if msg := err.Error(); !strings.Contains(msg, keyring+" has mode 0644, open to group or others") || !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("error = %v", err)
	}
	if got := mode(t, keyring); got != 0o644 {
		t.Fatalf("keyring mode %04o", got)
	}
	// A data dir that cannot be tightened is refused the same way.
	m = NewMain()
	m.Config = testConfig(t, dir)
	m.Log = discardLog()
	os.Chmod(dir, 0o750)
	m.chmod = func(path string, mode fs.FileMode) error { return fs.ErrPermission }
	err = m.Run(context.Background())
	m.Close()
	if err == nil || !strings.Contains(err.Error(), dir+" has mode 0750") {
		t.Fatalf("data dir 0750 that cannot be tightened: %v", err)
	}
}
