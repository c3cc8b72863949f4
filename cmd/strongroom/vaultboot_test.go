package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strongroom/strongroom/internal/testserver"
	"github.com/strongroom/strongroom/vault"
)

// boot is the shared volume of the Compose deployment: the bootstrap
// writes Vault's init file and the AppRole files there, the app reads the
// AppRole files.
type boot struct {
	addr                           string // VAULT_ADDR
	initFile, roleFile, secretFile string
	outputs                        []*syncBuffer // everything vault-setup printed
}

func newBoot(t *testing.T, addr string) *boot {
	dir := t.TempDir()
	return &boot{addr: addr, initFile: filepath.Join(dir, "vault-init.json"),
		roleFile: filepath.Join(dir, "role-id"), secretFile: filepath.Join(dir, "secret-id")}
}

// args are the bootstrap container's flags, plus extra.
func (b *boot) args(extra ...string) []string {
	return append([]string{"-init-file", b.initFile, "-approle", "-role-id-file", b.roleFile, "-secret-id-file", b.secretFile}, extra...)
}

// setup runs "strongroom vault-setup ARGS" with only VAULT_ADDR set (no
// VAULT_TOKEN), as the bootstrap container does, and returns what it
// printed on stdout and stderr together.
func (b *boot) setup(ctx context.Context, args ...string) (*syncBuffer, error) {
	out := b.output()
	return out, b.run(ctx, out, args)
}

func (b *boot) output() *syncBuffer {
	out := &syncBuffer{}
	b.outputs = append(b.outputs, out)
	return out
}

func (b *boot) run(ctx context.Context, out *syncBuffer, args []string) error {
	env := map[string]string{"VAULT_ADDR": b.addr}
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	return run(ctx, append([]string{"vault-setup"}, args...), lookup, out, out)
}

// watch starts "vault-setup -watch" as the bootstrap container does and
// waits until it has written the AppRole files. It returns the command's
// output, and stop, which ends it as SIGTERM does and checks that it exits
// cleanly.
func (b *boot) watch(t *testing.T) (out *syncBuffer, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out = b.output()
	done := make(chan error, 1)
	go func() { done <- b.run(ctx, out, b.args("-watch")) }()
	start := time.Now()
	for {
		// The files of an earlier run may still be there for a moment.
		if _, err := os.Stat(b.secretFile); err == nil && strings.Contains(out.String(), "wrote the role id") {
			break
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("vault-setup -watch exited before the setup was done: %v\n%s", err, out)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Since(start) > 30*time.Second {
			cancel()
			t.Fatalf("no secret-id file 30 s after vault-setup -watch started\n%s", out)
		}
	}
	t.Logf("vault-setup -watch: setup done after %v", time.Since(start).Round(time.Millisecond))
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("vault-setup -watch ended with %v, want nil on SIGTERM", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("vault-setup -watch still running 15 s after its context ended")
		}
	}
	t.Cleanup(stop)
	return out, stop
}

// keys returns the init file's keys.
func (b *boot) keys(t *testing.T) vault.InitKeys {
	t.Helper()
	raw, err := os.ReadFile(b.initFile)
	if err != nil {
		t.Fatal(err)
	}
	k, err := vault.ParseInitKeys(raw)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// checkNoLeak fails if anything vault-setup printed holds the init file's
// unseal key or root token, or the secret id.
func (b *boot) checkNoLeak(t *testing.T) {
	t.Helper()
	k := b.keys(t)
	sid, _ := os.ReadFile(b.secretFile)
	for i, out := range b.outputs {
		s := out.String()
		for what, v := range map[string]string{"unseal key": k.UnsealKey.Reveal(), "root token": k.RootToken.Reveal(), "secret id": strings.TrimSpace(string(sid))} {
			if v != "" && strings.Contains(s, v) {
				t.Errorf("run %d of vault-setup printed the %s", i+1, what)
			}
		}
	}
}

// appConfig is the app of the deployment: a server that logs in to Vault
// with AppRole, with the role and secret ids read from the bootstrap's
// files (VAULT_ROLE_ID_FILE, VAULT_SECRET_ID_FILE), and nothing else.
func (b *boot) appConfig(t *testing.T, dataDir string) Config {
	t.Helper()
	vars := map[string]string{"VAULT_ADDR": b.addr, "VAULT_ROLE_ID_FILE": b.roleFile, "VAULT_SECRET_ID_FILE": b.secretFile}
	env, err := NewEnv(func(k string) (string, bool) { v, ok := vars[k]; return v, ok }, "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(env)
	if err != nil {
		t.Fatal(err)
	}
	if c.VaultToken.IsSet() {
		t.Fatal("the app has a Vault token")
	}
	cfg := testConfig(t, dataDir)
	cfg.VaultAddr, cfg.VaultRoleID, cfg.VaultSecretID = c.VaultAddr, c.VaultRoleID, c.VaultSecretID
	return cfg
}

func wantMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s: mode %v, want %v", filepath.Base(path), got, want)
	}
}

func wantSeal(t *testing.T, addr string, initialized, sealed bool) {
	t.Helper()
	sys, err := vault.NewSys(vault.Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sys.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Initialized != initialized || st.Sealed != sealed {
		t.Fatalf("Vault initialized %v, sealed %v; want %v, %v", st.Initialized, st.Sealed, initialized, sealed)
	}
}

// waitReady polls /readyz until it answers 200 and returns how long it took.
func waitReady(t *testing.T, s *testServer, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for s.do("GET", "/readyz", "", nil).Status != 200 {
		if time.Since(start) > within {
			t.Fatalf("/readyz not 200 %v after Vault came back", within)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(start)
}

// TestVaultBootstrap is the Compose deployment's life: a fresh Vault (not
// in dev mode, file storage) set up by the bootstrap, an app holding only
// AppRole credentials, Vault restarts that leave it sealed, and a second
// bootstrap run.
func TestVaultBootstrap(t *testing.T) {
	// Not parallel: it asserts how soon the app is ready after Vault restarts.
	node := testserver.StartVaultNode(t)
	b := newBoot(t, node.Addr)
	ctx := context.Background()

	// An init file beside an uninitialized Vault belongs to another
	// Vault, or to this one before its storage was wiped: it is kept, and
	// Vault is left alone.
	if err := os.WriteFile(b.initFile, []byte(`{"unseal_key_b64":"b2xk","root_token":"old"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := b.setup(ctx, b.args()...); err == nil || !strings.Contains(err.Error(), "not initialized, but") {
		t.Fatalf("vault-setup with a stale init file: %v", err)
	}
	wantSeal(t, node.Addr, false, true)
	if err := os.Remove(b.initFile); err != nil {
		t.Fatal(err)
	}

	// (a) A fresh Vault: initialized, unsealed, set up; the files are
	// private, and an app with only the AppRole files uses the key.
	out, err := b.setup(ctx, b.args()...)
	if err != nil {
		t.Fatalf("vault-setup on a fresh Vault: %v\n%s", err, out)
	}
	t.Logf("first run:\n%s", out)
	for _, f := range []string{b.initFile, b.roleFile, b.secretFile} {
		wantMode(t, f, 0o600)
	}
	wantSeal(t, node.Addr, true, false)
	secretID, _ := os.ReadFile(b.secretFile)
	cfg := b.appConfig(t, t.TempDir())
	app := startServer(t, cfg)
	app.register("alice", seedPassword)
	tok := app.login("alice", seedPassword)
	id := app.do("POST", "/sensitive-data", tok, map[string]string{"data_type": "card_number", "value": seedCard}).want(t, 200, "store").JSON["id"].(string)
	app.do("GET", "/sensitive-data/"+id, tok, nil).want(t, 200, "read")

	// (b) Vault restarts and comes back sealed: what needs it answers 503.
	node.Stop()
	if err := node.Start(); err != nil {
		t.Fatal(err)
	}
	wantSeal(t, node.Addr, true, true)
	app.do("GET", "/readyz", "", nil).want(t, 503, "readyz while sealed")
	app.do("POST", "/register", "", map[string]string{"username": "bob", "email": "bob@example.com", "password": seedPassword}).
		want(t, 503, "register while sealed")

	// (c) The bootstrap runs again (the container restarts): it unseals
	// Vault with the init file, sets up again and keeps the secret id, so
	// the app heals by itself with the credentials it has.
	watchLog, stop := b.watch(t)
	wantSeal(t, node.Addr, true, false)
	if again, _ := os.ReadFile(b.secretFile); string(again) != string(secretID) {
		t.Error("the second run changed the secret id; want it kept while Vault accepts it")
	}
	waitReady(t, app, 10*time.Second)
	app.register("bob", seedPassword)
	app.do("GET", "/sensitive-data/"+id, tok, nil).want(t, 200, "read after the second bootstrap")
	// An app restarted with the old files logs in again.
	if err := app.Close(); err != nil {
		t.Fatal(err)
	}
	app = startServer(t, cfg)
	app.do("GET", "/sensitive-data/"+id, tok, nil).want(t, 200, "read after the app restarted")

	// (b) Vault restarts under the running bootstrap: it unseals Vault
	// within a few seconds, and the app, running the whole time, serves
	// again.
	node.Stop()
	if err := node.Start(); err != nil {
		t.Fatal(err)
	}
	back := waitReady(t, app, 15*time.Second)
	t.Logf("Vault restarted sealed; the app was ready again %v later", back.Round(time.Millisecond))
	if back > 2*vaultWatchInterval+time.Second {
		t.Errorf("unsealed after %v, want within %v", back, 2*vaultWatchInterval+time.Second)
	}
	app.register("carol", seedPassword)
	app.do("GET", "/sensitive-data/"+id, app.login("alice", seedPassword), nil).want(t, 200, "read after the unseal")
	stop()
	if n := strings.Count(watchLog.String(), "Vault was sealed: unsealed it"); n != 1 {
		t.Errorf("the watch logged %d unseals, want 1:\n%s", n, watchLog)
	}
	b.checkNoLeak(t)
	t.Logf("the watch's output:\n%s", watchLog)
}

// With -approle-operator the app's own credentials may rotate the master
// key over the API (the walk-through's step 7); without it the API
// answers 403, as with any token holding only the service policy
// (TestVaultRotationNeedsOperatorPolicy). The flag says what the role
// should be: a run without it takes the right away again.
func TestVaultBootstrapOperator(t *testing.T) {
	t.Parallel()
	node := testserver.StartVaultNode(t)
	b := newBoot(t, node.Addr)
	ctx := context.Background()
	dataDir := t.TempDir()
	// rotate runs the bootstrap with args, then the administrator's
	// rotation on an app that logs in afresh (a token's policies are the
	// role's at login).
	rotate := func(args []string, status int) {
		t.Helper()
		if out, err := b.setup(ctx, args...); err != nil {
			t.Fatalf("vault-setup %v: %v\n%s", args, err, out)
		}
		app := startServer(t, b.appConfig(t, dataDir))
		defer app.Close()
		app.do("POST", "/rotate-master-key", app.login("admin", seedPassword), nil).want(t, status, fmt.Sprintf("rotation after vault-setup %v", args[len(args)-1]))
	}
	if out, err := b.setup(ctx, b.args()...); err != nil {
		t.Fatalf("vault-setup: %v\n%s", err, out)
	}
	app := startServer(t, b.appConfig(t, dataDir))
	app.register("admin", seedPassword) // the first account: an administrator
	app.do("POST", "/sensitive-data", app.login("admin", seedPassword), map[string]string{"data_type": "card_number", "value": seedCard}).want(t, 200, "store")
	if err := app.Close(); err != nil {
		t.Fatal(err)
	}
	rotate(b.args(), 403)
	rotate(b.args("-approle-operator"), 200)
	rotate(b.args(), 403)
	b.checkNoLeak(t)
}

// vault-setup refuses what it cannot do safely, says why, and writes
// nothing: not the init file of a Vault someone else initialized, nor
// AppRole files; its errors never quote an init file. The test's dev Vault
// is initialized, as a Vault is whose owners hold its keys.
func TestVaultSetupRefuses(t *testing.T) {
	// Not parallel: one case seals the Vault dev server that other tests share.
	srv := testserver.VaultServer(t)
	const wrongKey = "c3Ryb25ncm9vbS10ZXN0LW5vdC10aGUtdW5zZWFsLWs=" // 32 bytes, as a one-share key is
	appRoleOnly := func(b *boot) []string {
		return []string{"-approle", "-role-id-file", b.roleFile, "-secret-id-file", b.secretFile}
	}
	for _, tc := range []struct {
		name     string
		initFile string               // what the init file holds: "" none, "/" a directory
		args     func(*boot) []string // b.args() if nil
		sealed   bool                 // seal the dev Vault first
		want     string
	}{
		{name: "initialized Vault without the init file", want: "already initialized, but"},
		{name: "same with -watch", args: func(b *boot) []string { return b.args("-watch") }, want: "already initialized, but"},
		{name: "garbled init file", initFile: `{"unseal_key_b64": "s3cr#t-half-a-k`, want: "not valid JSON"},
		{name: "init file of another program", initFile: `{"key": "s3cr#t", "token": "s3cr#t"}`, want: "missing"},
		{name: "init file key not base64", initFile: `{"unseal_key_b64": "s3cr#t!", "root_token": "s3cr#t"}`, want: "not base64"},
		{name: "init file a directory", initFile: "/", want: "-init-file"},
		{name: "init file of another Vault", initFile: `{"unseal_key_b64": "` + wrongKey + `", "root_token": "s3cr#t"}`, sealed: true,
			want: "this Vault's init file?"},
		{name: "no token and no init file", args: appRoleOnly, want: "VAULT_TOKEN"},
		{name: "-watch without -init-file", args: func(b *boot) []string { return append(appRoleOnly(b), "-watch") }, want: "-watch needs -init-file"},
		{name: "-approle-operator without -approle", args: func(b *boot) []string { return []string{"-init-file", b.initFile, "-approle-operator"} },
			want: "needs -approle"},
		{name: "the init file as the secret-id file", want: "same file",
			args: func(b *boot) []string { return append(appRoleOnly(b), "-init-file", b.secretFile) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBoot(t, srv.Addr)
			switch tc.initFile {
			case "":
			case "/":
				if err := os.Mkdir(b.initFile, 0o700); err != nil {
					t.Fatal(err)
				}
			default:
				if err := os.WriteFile(b.initFile, []byte(tc.initFile), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			args := b.args()
			if tc.args != nil {
				args = tc.args(b)
			}
			if tc.sealed {
				root := vaultRoot(t)
				if err := root.Sys().Seal(); err != nil {
					t.Fatal(err)
				}
				defer func() {
					if _, err := root.Sys().Unseal(srv.UnsealKey); err != nil {
						t.Fatal(err)
					}
				}()
			}
			out, err := b.setup(context.Background(), args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("vault-setup %v: %v, want an error saying %q", args, err, tc.want)
			}
			t.Logf("%v", err)
			if strings.Contains(err.Error(), "s3cr#t") || strings.Contains(err.Error(), wrongKey) || strings.Contains(out.String(), "s3cr#t") {
				t.Fatalf("the error or output quotes the init file: %v\n%s", err, out)
			}
			for _, f := range []string{b.roleFile, b.secretFile} {
				if _, err := os.Stat(f); err == nil {
					t.Errorf("%s was written", filepath.Base(f))
				}
			}
			if _, err := os.Stat(b.initFile); (err == nil) != (tc.initFile != "") {
				t.Errorf("init file: %v; vault-setup must neither write one nor remove one", err)
			}
		})
	}
}

// With -watch, the AppRole files of an earlier run are gone as soon as it
// starts, so "the files exist" means "this run finished the setup".
func TestVaultSetupWatchRemovesOldFiles(t *testing.T) {
	t.Parallel()
	b := newBoot(t, testserver.VaultServer(t).Addr)
	for _, f := range []string{b.roleFile, b.secretFile} {
		if err := os.WriteFile(f, []byte("from an earlier run\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The setup fails (nobody has the dev Vault's init file): the files
	// of the earlier run are gone all the same.
	if _, err := b.setup(context.Background(), b.args("-watch")...); err == nil {
		t.Fatal("vault-setup -watch without the init file of an initialized Vault succeeded")
	}
	for _, f := range []string{b.roleFile, b.secretFile} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("%s of the earlier run is still there", filepath.Base(f))
		}
	}
}
