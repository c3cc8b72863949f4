package main

import (
	"os"
	"path/filepath"
	"testing"
)

// A file written atomically is private, replaces the old one whole, and
// leaves no temp file behind, whether it was committed or abandoned.
func TestWriteFileAtomic(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "secret-id")
	for _, content := range []string{"first\n", "second\n"} {
		if err := writeFileAtomic(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(path); string(got) != content {
			t.Fatalf("file holds %q, want %q", got, content)
		}
		wantMode(t, path, 0o600)
	}
	p, err := createPending(path)
	if err != nil {
		t.Fatal(err)
	}
	p.abort()
	if got, _ := os.ReadFile(path); string(got) != "second\n" {
		t.Fatalf("an abandoned write changed the file to %q", got)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("%d entries in the directory, want only the file", len(entries))
	}
	if _, err := createPending(filepath.Join(dir, "missing", "init.json")); err == nil {
		t.Fatal("a file in a missing directory was opened")
	}
}
