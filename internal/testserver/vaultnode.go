package testserver

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// VaultNode is a Vault server run as a deployment runs it, not in dev
// mode: file storage in a directory that outlives Stop, so Start brings
// the same Vault back on the same address, sealed, as a restarted
// container does. It starts uninitialized. It is for tests only.
type VaultNode struct {
	Addr string // http://127.0.0.1:port

	bin, dir string
	cmd      *exec.Cmd
	done     chan error
}

// vaultNodeHCL is the configuration: the file storage and listener of the
// Compose deployment, on loopback. Clustering is off so that Vault opens
// no second port (the API port + 1) that parallel tests could collide on.
const vaultNodeHCL = `storage "file" {
  path = %q
}
listener "tcp" {
  address     = %q
  tls_disable = true
}
disable_mlock      = true
disable_clustering = true
api_addr           = %q
`

// StartVaultNode starts a fresh Vault node on a free loopback port, with
// its storage in a temp dir, and stops it when the test ends.
func StartVaultNode(t testing.TB) *VaultNode {
	t.Helper()
	bin, err := Build("vault")
	if err != nil {
		t.Fatalf("no Vault for the test: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	v := &VaultNode{Addr: "http://" + addr, bin: bin, dir: t.TempDir()}
	hcl := fmt.Sprintf(vaultNodeHCL, filepath.Join(v.dir, "storage"), addr, v.Addr)
	if err := os.WriteFile(filepath.Join(v.dir, "vault.hcl"), []byte(hcl), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Stop) // before TempDir's cleanup: Vault is gone when its storage goes
	if err := v.Start(); err != nil {
		t.Fatal(err)
	}
	return v
}

// Start runs the node (again, after Stop) and waits until it answers
// /v1/sys/seal-status, which it does sealed or not, initialized or not.
func (v *VaultNode) Start() error {
	if v.cmd != nil {
		return fmt.Errorf("testserver: vault node already running")
	}
	logFile, err := os.OpenFile(filepath.Join(v.dir, "vault.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child has its own copy
	cmd := exec.Command(v.bin, "server", "-config="+filepath.Join(v.dir, "vault.hcl"))
	cmd.Env = envWithoutVault()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return err
	}
	v.cmd, v.done = cmd, make(chan error, 1)
	go func() { v.done <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(v.Addr + "/v1/sys/seal-status")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-v.done:
			v.cmd = nil
			return fmt.Errorf("testserver: vault node exited before it answered: %v\n%s", err, v.logTail())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			v.Stop()
			return fmt.Errorf("testserver: vault node not answering after 60 s\n%s", v.logTail())
		}
	}
}

// Stop ends the node and waits for it to exit; its storage stays. A
// stopped node's Stop does nothing.
func (v *VaultNode) Stop() {
	if v.cmd == nil {
		return
	}
	terminate(v.cmd, v.done, 15*time.Second)
	v.cmd = nil
}

// logTail is the end of the node's log, to say why it did not start.
func (v *VaultNode) logTail() string {
	b, _ := os.ReadFile(filepath.Join(v.dir, "vault.log"))
	return string(b[max(0, len(b)-2000):])
}

// envWithoutVault is this process's environment without VAULT_*, so a
// test server never picks up a developer's Vault settings.
func envWithoutVault() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VAULT_") {
			env = append(env, kv)
		}
	}
	return env
}
