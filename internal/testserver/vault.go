package testserver

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// Vault is a running "vault server -dev": in memory, unsealed, with a
// known root token. It is for tests only.
type Vault struct {
	Addr      string // http://127.0.0.1:port
	RootToken string
	UnsealKey string

	cmd  *exec.Cmd
	done chan error
}

var vaultOnce struct {
	once sync.Once
	v    *Vault
	err  error
}

// VaultServer returns this test process's Vault dev server, starting it on
// first use. Call StopVault from TestMain after the tests.
func VaultServer(t testing.TB) *Vault {
	t.Helper()
	vaultOnce.once.Do(func() {
		bin, err := Build("vault")
		if err != nil {
			vaultOnce.err = err
			return
		}
		vaultOnce.v, vaultOnce.err = StartVault(bin)
	})
	if vaultOnce.err != nil {
		t.Fatalf("no Vault server for the test: %v", vaultOnce.err)
	}
	return vaultOnce.v
}

// StopVault stops the server VaultServer started, if any.
func StopVault() {
	if vaultOnce.v != nil {
		vaultOnce.v.Stop()
	}
}

// StartVault starts a Vault dev server on a free loopback port and waits
// until it answers /v1/sys/health.
func StartVault(bin string) (*Vault, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	var b [16]byte
	_, _ = rand.Read(b[:])
	v := &Vault{Addr: "http://" + addr, RootToken: "root-" + hex.EncodeToString(b[:]), done: make(chan error, 1)}
	v.cmd = exec.Command(bin, "server", "-dev", "-dev-no-store-token",
		"-dev-root-token-id="+v.RootToken, "-dev-listen-address="+addr)
	v.cmd.Env = envWithoutVault()
	out, err := v.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	v.cmd.Stderr = v.cmd.Stdout
	if err := v.cmd.Start(); err != nil {
		return nil, err
	}
	unseal := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if k, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "Unseal Key: "); ok {
				unseal <- k
			}
		}
		_, _ = io.Copy(io.Discard, out)
		v.done <- v.cmd.Wait()
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(v.Addr + "/v1/sys/health")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		select {
		case err := <-v.done:
			return nil, fmt.Errorf("testserver: vault exited before it was ready: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			v.Stop()
			return nil, fmt.Errorf("testserver: vault not ready after 60 s")
		}
	}
	select {
	case v.UnsealKey = <-unseal:
	case <-time.After(5 * time.Second):
		v.Stop()
		return nil, fmt.Errorf("testserver: vault printed no unseal key")
	}
	return v, nil
}

// Pid is the server process's id (to read its CPU time, say).
func (v *Vault) Pid() int { return v.cmd.Process.Pid }

// Stop ends the server and waits for it to exit (about a second), so its
// port can be reused.
func (v *Vault) Stop() { terminate(v.cmd, v.done, 15*time.Second) }
