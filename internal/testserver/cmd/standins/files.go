package main

import (
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// hashPath adds a file's, or a directory tree's, names, modes and sizes to
// h, and a file's content; a tree (the Go toolchain, 250 MB) is hashed by
// its listing, which changes whenever a Go version does.
func hashPath(h hash.Hash, name, src string) error {
	if src == os.DevNull {
		fmt.Fprintf(h, "%s empty\n", name)
		return nil
	}
	info, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		f, err := os.Open(src)
		if err != nil {
			return err
		}
		defer f.Close()
		fmt.Fprintf(h, "%s %o %d\n", name, info.Mode().Perm(), info.Size())
		_, err = io.Copy(h, f)
		return err
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		i, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		fmt.Fprintf(h, "%s/%s %o %d\n", name, rel, i.Mode(), i.Size())
		return nil
	})
}

// copyPath copies a file or a directory tree (os.DevNull: an empty file),
// keeping execute bits, so the build context holds real files.
func copyPath(dst, src string) error {
	if src == os.DevNull {
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, nil, 0o644)
	}
	info, err := os.Stat(src)
	if err != nil {
		return err
	}
	if info.IsDir() {
		return os.CopyFS(dst, os.DirFS(src))
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm()|0o200)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
