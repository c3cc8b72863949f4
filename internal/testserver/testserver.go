// Package testserver builds and runs the real servers that tests talk to
// (FerretDB, a MongoDB wire-protocol server, and Vault). Each lives in its
// own Go module under tools/, so its dependencies stay out of the service's
// go.mod. A binary is built once per tool source and cached outside the
// clone (STRONGROOM_CACHE, or the user cache dir), so CI and later runs
// reuse it. When a server cannot be built or started the test fails: it
// never skips.
package testserver

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// Root returns the repository's root directory.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// CacheDir returns where built tools are kept.
func CacheDir() (string, error) {
	if d := os.Getenv("STRONGROOM_CACHE"); d != "" {
		return d, os.MkdirAll(d, 0o755)
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	d := filepath.Join(base, "strongroom")
	return d, os.MkdirAll(d, 0o755)
}

// buildFlags are the go build flags of every tool (with CGO_ENABLED=0).
var buildFlags = []string{"-trimpath", "-ldflags=-s -w"}

// toolFlags are a tool's own go build flags, after buildFlags.
//
// Vault: its own "minimal" build leaves out the secrets engines, auth
// methods and storage backends that talk to clouds and databases
// (tools/vault/main.go says what is left); with tools/vault/_overlay it
// compiles about 1 400 packages instead of 2 590: with an empty build
// cache on two cores, 6.3 minutes and 632 s of CPU (the full Vault: 7 to
// 22 minutes, 2 110 s of CPU), into a 75 MB binary. It is compiled with
// optimization, as a deployment's Vault is, so that Vault's throughput can
// be measured on it.
var toolFlags = map[string][]string{"vault": {"-tags=minimal"}}

// Build returns the path of the binary of the tool module tools/<name>,
// building it if no binary for this source is cached (a build by any Go
// toolchain serves). The source is every file under tools/<name>, including
// _overlay, patches to its dependencies (see overlay.go), and the build
// flags.
// Parallel test processes wait for one build.
func Build(name string) (string, error) {
	src := filepath.Join(Root(), "tools", name)
	flags := append(append([]string{}, buildFlags...), toolFlags[name]...)
	h := sha256.New()
	// The recipe is part of the key: a binary built another way is another
	// binary. Static (no cgo), so the Compose stack's stand-in images can
	// hold it on an empty base. The walk takes in _overlay too.
	fmt.Fprintf(h, "%q\n", flags)
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		fmt.Fprintf(h, "%s %d\n", rel, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("testserver: %w", err)
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(cache, name+"-"+hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	lock, err := os.OpenFile(bin+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	if _, err := os.Stat(bin); err == nil { // built while we waited
		return bin, nil
	}
	// Without the symbol table and DWARF (-s -w): the full Vault linked in
	// half the time (23 s instead of 51 s) into 350 MB instead of 480 MB,
	// and a test server's stack traces still name their functions.
	args := append(append([]string{"build"}, flags...), "-o", bin+".tmp")
	work := bin + ".src" // patched copies of dependencies, for this build only
	defer os.RemoveAll(work)
	modfile, err := patchedModules(src, work)
	if err != nil {
		return "", fmt.Errorf("testserver: tools/%s: %w", name, err)
	}
	if modfile != "" {
		args = append(args, "-modfile="+modfile)
	}
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("testserver: building tools/%s: %v\n%s", name, err, out)
	}
	if err := os.Rename(bin+".tmp", bin); err != nil {
		return "", err
	}
	// Drop builds of older sources (a Vault binary is 75 MB).
	old, _ := filepath.Glob(filepath.Join(cache, name+"-*"))
	for _, f := range old {
		if strings.HasSuffix(f, ".src") && f != work {
			os.RemoveAll(f) // left by a build that was killed
		} else if f != bin && f != bin+".lock" {
			os.Remove(f)
		}
	}
	return bin, nil
}

// Process is a running tool.
type Process struct {
	cmd  *exec.Cmd
	dir  string
	done chan error
	// Ready is the rest of the tool's "ready ..." line (e.g. its URL).
	Ready string
}

// Start runs the tool with args plus a fresh temp directory passed as
// -dir, and waits for it to print "ready <something>" on stdout.
func Start(bin string, args ...string) (*Process, error) {
	dir, err := os.MkdirTemp("", "strongroom-"+filepath.Base(bin)+"-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, append(args, "-dir", dir)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	p := &Process{cmd: cmd, dir: dir, done: make(chan error, 1)}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "ready "); ok {
				ready <- rest
				break
			}
		}
		_, _ = io.Copy(io.Discard, out)
		p.done <- cmd.Wait()
	}()
	select {
	case p.Ready = <-ready:
		return p, nil
	case err := <-p.done:
		os.RemoveAll(dir)
		return nil, fmt.Errorf("testserver: %s exited before it was ready: %v", filepath.Base(bin), err)
	case <-time.After(60 * time.Second):
		p.Stop()
		return nil, fmt.Errorf("testserver: %s not ready after 60 s", filepath.Base(bin))
	}
}

// Stop ends the tool with SIGTERM (SIGKILL after 10 s) and removes its
// directory.
func (p *Process) Stop() {
	terminate(p.cmd, p.done, 10*time.Second)
	os.RemoveAll(p.dir)
}

// terminate sends SIGTERM, waits up to grace for the process to exit (done
// receives its Wait result), then kills it.
func terminate(cmd *exec.Cmd, done <-chan error, grace time.Duration) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-done
	}
}
