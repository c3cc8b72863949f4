package testserver

// A tool module may build some of its dependencies patched: each file of
// tools/<name>/_overlay/<module path>/<path> replaces <path> of that
// module (Vault's test build drops the cloud SDKs this way, see
// tools/vault/main.go), and a directory there with a go.mod replaces its
// module entirely. The go command refuses -overlay for files in the module
// cache, so each module patched file by file is copied next to the binary
// being built, and the build uses a go.mod with "replace" lines (-modfile):
// the tool's own go.mod is left alone, and since each copy keeps its go.mod
// the versions of everything else stay the same. ("_" keeps the go command
// from taking the directory for packages of the tool module.)
//
// A file that replaces another names it by "sha256:<hex>": when a
// dependency is upgraded and that file changed, the build stops rather than
// drop the upstream change silently.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// overlayDir is where a tool module keeps its patches.
const overlayDir = "_overlay"

// overlayFiles lists the files under dir (slash-separated, relative).
func overlayFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		files = append(files, filepath.ToSlash(rel))
		return err
	})
	if os.IsNotExist(err) {
		return nil, nil
	}
	return files, err
}

var originalSum = regexp.MustCompile(`sha256:([0-9a-f]{64})`)

type module struct{ Path, Version, Dir string }

// patchedModules copies each module that src/_overlay patches into work,
// writes the overlay's files over the copies, and returns the go.mod to
// build with (work/go.mod, with its go.sum beside it), or "" if src has no
// overlay.
func patchedModules(src, work string) (modfile string, err error) {
	overlay := filepath.Join(src, overlayDir)
	files, err := overlayFiles(overlay)
	if err != nil || len(files) == 0 {
		return "", err
	}
	if err := os.RemoveAll(work); err != nil {
		return "", err
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return "", err
	}
	gomod, err := os.ReadFile(filepath.Join(src, "go.mod"))
	if err != nil {
		return "", err
	}
	var whole []string // modules replaced entirely
	for _, f := range files {
		if m, ok := strings.CutSuffix(f, "/go.mod"); ok {
			whole = append(whole, m)
			gomod = fmt.Appendf(gomod, "\nreplace %s => %s\n", m, filepath.Join(overlay, filepath.FromSlash(m)))
		}
	}
	required, err := goJSON[struct{ Require []module }](src, "mod", "edit", "-json")
	if err != nil {
		return "", err
	}
	copied := map[string]string{} // module path -> its copy
	for _, f := range files {
		m := moduleOf(f, required.Require)
		if m == nil {
			return "", fmt.Errorf("%s/%s: not in a module that go.mod requires", overlayDir, f)
		}
		if containsPrefix(whole, f) {
			continue
		}
		dst, ok := copied[m.Path]
		if !ok {
			// Download this one module, not the modules it imports:
			// the patch may be there to drop them.
			dl, err := goJSON[module](src, "mod", "download", "-json", m.Path+"@"+m.Version)
			if err != nil {
				return "", err
			}
			dst = filepath.Join(work, filepath.FromSlash(m.Path))
			if err := copyTree(dl.Dir, dst); err != nil {
				return "", err
			}
			copied[m.Path] = dst
			gomod = fmt.Appendf(gomod, "\nreplace %s => %s\n", m.Path, dst)
		}
		inModule := strings.TrimPrefix(f, m.Path+"/")
		patch, err := os.ReadFile(filepath.Join(overlay, filepath.FromSlash(f)))
		if err != nil {
			return "", err
		}
		target := filepath.Join(dst, filepath.FromSlash(inModule))
		orig, err := os.ReadFile(target)
		if err != nil {
			return "", fmt.Errorf("%s/%s replaces no file of %s: %v", overlayDir, f, m.Path, err)
		}
		sum := sha256.Sum256(orig)
		want := originalSum.FindSubmatch(patch)
		if want == nil {
			return "", fmt.Errorf("%s/%s names no sha256:<hex> of the file it replaces (%s of %s@%s, sha256 %x)", overlayDir, f, inModule, m.Path, m.Version, sum)
		}
		if !bytes.Equal(want[1], []byte(hex.EncodeToString(sum[:]))) {
			return "", fmt.Errorf("%s/%s was made from another version of %s than %s@%s has (its sha256 is now %x): redo the patch from that file", overlayDir, f, inModule, m.Path, m.Version, sum)
		}
		if err := os.WriteFile(target, patch, 0o644); err != nil {
			return "", err
		}
	}
	modfile = filepath.Join(work, "go.mod")
	if err := os.WriteFile(modfile, gomod, 0o644); err != nil {
		return "", err
	}
	sum, err := os.ReadFile(filepath.Join(src, "go.sum"))
	if err != nil {
		return "", err
	}
	return modfile, os.WriteFile(filepath.Join(work, "go.sum"), sum, 0o644)
}

// moduleOf returns the module holding the file f (a path below module
// paths): the required module with the longest path that prefixes f.
func moduleOf(f string, mods []module) *module {
	var best *module
	for i, m := range mods {
		if strings.HasPrefix(f, m.Path+"/") && (best == nil || len(m.Path) > len(best.Path)) {
			best = &mods[i]
		}
	}
	return best
}

func containsPrefix(dirs []string, f string) bool {
	for _, d := range dirs {
		if strings.HasPrefix(f, d+"/") {
			return true
		}
	}
	return false
}

// goJSON runs the go command in dir and decodes its JSON output.
func goJSON[T any](dir string, args ...string) (T, error) {
	var v T
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return v, fmt.Errorf("go %s: %v", strings.Join(args, " "), err)
	}
	return v, json.Unmarshal(out, &v)
}

// copyTree copies the regular files of the directory tree from into to,
// writable (the module cache's files are read-only).
func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		r, err := os.Open(p)
		if err != nil {
			return err
		}
		defer r.Close()
		w, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		if _, err := io.Copy(w, r); err != nil {
			w.Close()
			return err
		}
		return w.Close()
	})
}
