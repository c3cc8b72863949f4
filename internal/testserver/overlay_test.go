package testserver

import (
	"archive/zip"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The dependency example.com/dep v1.0.0 of the temp modules below, served
// by a file:// module proxy in a temp dir (no network).
const (
	depGoMod  = "module example.com/dep\n\ngo 1.22\n"
	depGo     = "package dep\n\nfunc Name() string { return \"upstream\" }\n"
	toolGoMod = `module example.com/tool

go 1.22

require example.com/dep v1.0.0
`
	toolMain = `package main

import "example.com/dep"

func main() { println(dep.Name()) }
`
)

// overlayModule makes a tool module that requires example.com/dep, with
// the given files under its _overlay (relative path -> content), and
// points the go command at a local proxy and module cache.
func overlayModule(t *testing.T, overlay map[string]string) (src string) {
	t.Helper()
	tmp := t.TempDir()
	proxy := filepath.Join(tmp, "proxy", "example.com", "dep", "@v")
	if err := os.MkdirAll(proxy, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(proxy, "list"), "v1.0.0\n")
	write(t, filepath.Join(proxy, "v1.0.0.info"), `{"Version":"v1.0.0"}`)
	write(t, filepath.Join(proxy, "v1.0.0.mod"), depGoMod)
	f, err := os.Create(filepath.Join(proxy, "v1.0.0.zip"))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, body := range map[string]string{"go.mod": depGoMod, "dep.go": depGo} {
		w, err := zw.Create("example.com/dep@v1.0.0/" + name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	t.Setenv("GOPROXY", "file://"+filepath.ToSlash(filepath.Join(tmp, "proxy")))
	t.Setenv("GOMODCACHE", filepath.Join(tmp, "modcache"))
	t.Setenv("GOFLAGS", "-modcacherw") // so that TempDir can remove it
	t.Setenv("GOSUMDB", "off")
	t.Setenv("GONOSUMDB", "")
	t.Setenv("GOTOOLCHAIN", "local") // the go running this test, nothing fetched

	src = filepath.Join(tmp, "tool")
	write(t, filepath.Join(src, "go.mod"), toolGoMod)
	write(t, filepath.Join(src, "main.go"), toolMain)
	write(t, filepath.Join(src, "go.sum"), "")
	for name, body := range overlay {
		write(t, filepath.Join(src, overlayDir, filepath.FromSlash(name)), body)
	}
	return src
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// patched is dep.go patched, naming the sha256 of the file it replaces.
func patched(sum [32]byte) string {
	return fmt.Sprintf("// replaces dep.go (sha256:%x)\n\npackage dep\n\nfunc Name() string { return \"patched\" }\n", sum)
}

func TestOverlayPatchesADependency(t *testing.T) {
	src := overlayModule(t, map[string]string{"example.com/dep/dep.go": patched(sha256.Sum256([]byte(depGo)))})
	work := filepath.Join(t.TempDir(), "work")
	modfile, err := patchedModules(src, work)
	if err != nil {
		t.Fatal(err)
	}
	gomod, _ := os.ReadFile(modfile)
	if !strings.Contains(string(gomod), "replace example.com/dep => "+filepath.Join(work, "example.com", "dep")) {
		t.Errorf("the go.mod to build with has no replace line for the copy:\n%s", gomod)
	}
	if b, _ := os.ReadFile(filepath.Join(src, "go.mod")); string(b) != toolGoMod {
		t.Errorf("the tool's own go.mod changed:\n%s", b)
	}
	bin := filepath.Join(t.TempDir(), "tool")
	cmd := exec.Command("go", "build", "-modfile="+modfile, "-o", bin, ".")
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "patched" {
		t.Errorf("the tool printed %q (%v), want the patched dependency's \"patched\"", out, err)
	}
}

// A patch made from another version of the file it replaces, or that does
// not say which, stops the build, naming the file and the sha256 it has now.
func TestOverlayRefusesAPatchOfAnotherVersion(t *testing.T) {
	now := sha256.Sum256([]byte(depGo))
	for name, c := range map[string]struct{ patch, says string }{
		"sha256 of another file": {patched(sha256.Sum256([]byte("package dep // older\n"))), "another version of dep.go than example.com/dep@v1.0.0"},
		"no sha256":              {"package dep\n\nfunc Name() string { return \"patched\" }\n", "names no sha256"},
	} {
		t.Run(name, func(t *testing.T) {
			src := overlayModule(t, map[string]string{"example.com/dep/dep.go": c.patch})
			_, err := patchedModules(src, filepath.Join(t.TempDir(), "work"))
			if err == nil {
				t.Fatal("patchedModules accepted the patch")
			}
			t.Log(err)
			for _, want := range []string{"_overlay/example.com/dep/dep.go", c.says, fmt.Sprintf("%x", now)} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

func TestOverlayRefusesWhatReplacesNothing(t *testing.T) {
	for file, want := range map[string]string{
		"example.com/dep/gone.go":   "replaces no file of example.com/dep",
		"example.com/other/file.go": "not in a module that go.mod requires",
	} {
		src := overlayModule(t, map[string]string{file: "package x\n"})
		_, err := patchedModules(src, filepath.Join(t.TempDir(), "work"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got error %v, want one saying %q", file, err, want)
		}
	}
}

// A directory with a go.mod replaces its module whole, straight from
// _overlay (Vault's Okta SDK stand-in).
func TestOverlayReplacesAWholeModule(t *testing.T) {
	src := overlayModule(t, map[string]string{
		"example.com/dep/go.mod": depGoMod,
		"example.com/dep/dep.go": "package dep\n\nfunc Name() string { return \"stand-in\" }\n",
	})
	modfile, err := patchedModules(src, filepath.Join(t.TempDir(), "work"))
	if err != nil {
		t.Fatal(err)
	}
	gomod, _ := os.ReadFile(modfile)
	if want := "replace example.com/dep => " + filepath.Join(src, overlayDir, "example.com", "dep"); !strings.Contains(string(gomod), want) {
		t.Errorf("go.mod to build with lacks %q:\n%s", want, gomod)
	}
}

func TestNoOverlayNoModfile(t *testing.T) {
	src := overlayModule(t, nil)
	modfile, err := patchedModules(src, filepath.Join(t.TempDir(), "work"))
	if err != nil || modfile != "" {
		t.Errorf("patchedModules without _overlay = %q, %v; want \"\", nil", modfile, err)
	}
}
