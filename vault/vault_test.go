package vault_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/internal/testserver"
	"github.com/strongroom/strongroom/keycache"
	"github.com/strongroom/strongroom/vault"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testserver.StopVault()
	os.Exit(code)
}

// fixture is a Vault server with a fresh Transit key set up by vault-setup.
type fixture struct {
	srv  *testserver.Vault
	root *vaultapi.Client
	cfg  vault.Config // address, mount and key; no credentials
}

func newFixture(t *testing.T, appRole bool) (*fixture, vault.SetupResult) {
	t.Helper()
	srv := testserver.VaultServer(t)
	var b [4]byte
	_, _ = rand.Read(b[:])
	cfg := vault.Config{Address: srv.Addr, Mount: "transit", Key: "k-" + hex.EncodeToString(b[:])}
	admin := cfg
	admin.Token = srv.RootToken
	res, err := vault.Setup(context.Background(), admin, appRole)
	if err != nil {
		t.Fatal(err)
	}
	root, err := vaultapi.NewClient(&vaultapi.Config{Address: srv.Addr})
	if err != nil {
		t.Fatal(err)
	}
	root.SetToken(srv.RootToken)
	return &fixture{srv: srv, root: root, cfg: cfg}, res
}

// token returns a new token with the given policies.
func (f *fixture) token(t *testing.T, policies ...string) string {
	t.Helper()
	s, err := f.root.Auth().Token().Create(&vaultapi.TokenCreateRequest{Policies: policies, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	return s.Auth.ClientToken
}

func (f *fixture) open(t *testing.T, token string) *vault.KMS {
	t.Helper()
	cfg := f.cfg
	cfg.Token = token
	k, err := vault.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

func dek() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}

func TestWrapUnwrap(t *testing.T) {
	f, _ := newFixture(t, false)
	k := f.open(t, f.token(t, vault.ServicePolicy))
	ctx := context.Background()
	d := dek()
	before := k.Calls()
	w, err := k.Wrap(ctx, "65a000000000000000000001", d)
	if err != nil {
		t.Fatal(err)
	}
	if w.Version != 1 || !bytes.HasPrefix([]byte(w.Ciphertext), []byte("vault:v1:")) {
		t.Fatalf("wrapped = %+v", w)
	}
	got, err := strongroom.UnwrapOne(ctx, k, "65a000000000000000000001", w)
	if err != nil || !bytes.Equal(got, d) {
		t.Fatalf("Unwrap = %v", err)
	}
	if n := k.Calls() - before; n != 2 {
		t.Fatalf("wrap + unwrap made %d Vault calls, want 2", n)
	}
	// The user's id is the derivation context: another user's id fails.
	if _, err := strongroom.UnwrapOne(ctx, k, "65a000000000000000000002", w); err == nil {
		t.Fatal("a wrapped key unwrapped for another user")
	}
}

// Unwrap decrypts many keys in one Vault call, and a key that does not
// decrypt (here: another owner's) fails alone.
func TestUnwrapBatch(t *testing.T) {
	f, _ := newFixture(t, false)
	k := f.open(t, f.token(t, vault.ServicePolicy))
	ctx := context.Background()
	owners := []string{"65a000000000000000000001", "65a000000000000000000002", "65a000000000000000000003"}
	keys, deks := make([]strongroom.UserKey, 3), make([][]byte, 3)
	for i, o := range owners {
		deks[i] = dek()
		w, err := k.Wrap(ctx, o, deks[i])
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = strongroom.UserKey{UserID: o, Key: w}
	}
	keys[1].UserID = owners[2]
	before := k.Calls()
	got, err := k.Unwrap(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	if n := k.Calls() - before; n != 1 {
		t.Fatalf("unwrapping 3 keys took %d Vault calls, want 1", n)
	}
	if got[0].Err != nil || !bytes.Equal(got[0].DEK, deks[0]) || got[2].Err != nil || !bytes.Equal(got[2].DEK, deks[2]) {
		t.Fatalf("the good keys: %v, %v", got[0].Err, got[2].Err)
	}
	if got[1].Err == nil || got[1].DEK != nil {
		t.Fatal("another owner's wrapped key unwrapped")
	}
	// When every key fails, so does the call: no key comes back.
	if out, err := k.Unwrap(ctx, keys[1:2]); err == nil && (len(out) != 1 || out[0].Err == nil) {
		t.Fatal("a batch of one bad key unwrapped")
	}
}

// A thousand users' first reads at once (64 at a time, as 64 clients
// would), through the data-key cache's batcher: they share a few Vault
// calls, not one each.
func TestFirstReadsShareVaultCalls(t *testing.T) {
	f, _ := newFixture(t, false)
	k := f.open(t, f.token(t, vault.ServicePolicy))
	ctx := context.Background()
	const users, clients = 1000, 64
	keys, deks := make([]strongroom.UserKey, users), make([][]byte, users)
	var wg sync.WaitGroup
	next := make(chan int)
	go func() {
		for i := range users {
			next <- i
		}
		close(next)
	}()
	for range 8 {
		wg.Go(func() {
			for i := range next {
				deks[i], keys[i].UserID = dek(), fmt.Sprintf("65a%021x", i)
				var err error
				if keys[i].Key, err = k.Wrap(ctx, keys[i].UserID, deks[i]); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	b := keycache.NewBatcher(k, 0, 0)
	before := k.Calls()
	next = make(chan int)
	go func() {
		for i := range users {
			next <- i
		}
		close(next)
	}()
	for range clients {
		wg.Go(func() {
			for i := range next {
				got, err := b.Unwrap(ctx, keys[i])
				if err != nil || !bytes.Equal(got, deks[i]) {
					t.Errorf("user %d: %v", i, err)
				}
			}
		})
	}
	wg.Wait()
	calls := k.Calls() - before
	t.Logf("%d first reads by %d clients: %d Vault calls", users, clients, calls)
	if calls > users/10 {
		t.Fatalf("%d first reads took %d Vault calls", users, calls)
	}
}

func TestServiceTokenCannotReadOrExportTheKey(t *testing.T) {
	f, _ := newFixture(t, false)
	svc := f.token(t, vault.ServicePolicy)
	c, err := f.root.Clone()
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(svc)
	key := f.cfg.Mount + "/keys/" + f.cfg.Key
	for _, probe := range []struct {
		name string
		do   func() error
	}{
		{"read the key", func() error { _, err := c.Logical().Read(key); return err }},
		{"export the key", func() error {
			_, err := c.Logical().Read(f.cfg.Mount + "/export/encryption-key/" + f.cfg.Key)
			return err
		}},
		{"back up the key", func() error { _, err := c.Logical().Read(f.cfg.Mount + "/backup/" + f.cfg.Key); return err }},
		{"rotate the key", func() error { _, err := c.Logical().Write(key+"/rotate", nil); return err }},
		{"reconfigure the key", func() error {
			_, err := c.Logical().Write(key+"/config", map[string]any{"exportable": true})
			return err
		}},
		{"list keys", func() error { _, err := c.Logical().List(f.cfg.Mount + "/keys"); return err }},
		{"read other secrets", func() error { _, err := c.Logical().Read("sys/mounts"); return err }},
	} {
		var re *vaultapi.ResponseError
		if err := probe.do(); !errors.As(err, &re) || re.StatusCode != 403 {
			t.Errorf("service token may %s: %v", probe.name, err)
		}
	}
	// And the key itself is not exportable, even for root.
	s, err := f.root.Logical().Read(key)
	if err != nil || s.Data["exportable"] != false || s.Data["allow_plaintext_backup"] != false || s.Data["derived"] != true {
		t.Fatalf("key settings %v, %v", s.Data, err)
	}
	if _, err := f.root.Logical().Read(f.cfg.Mount + "/export/encryption-key/" + f.cfg.Key); err == nil {
		t.Fatal("root exported the key")
	}
	// Through the key manager, a rotation with the service token is a clear refusal.
	k := f.open(t, svc)
	if _, err := k.Rotate(context.Background()); !strongroom.IsKind(err, strongroom.KindForbidden) {
		t.Fatalf("Rotate with the service token: %v, want forbidden", err)
	}
}

// The operator policy retires versions and nothing else of the key's
// settings: turning on export, plaintext backup or deletion (which Vault
// never lets anyone turn off again) is refused.
func TestOperatorTokenCannotWeakenTheKey(t *testing.T) {
	f, _ := newFixture(t, false)
	c, err := f.root.Clone()
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(f.token(t, vault.ServicePolicy, vault.OperatorPolicy))
	config := f.cfg.Mount + "/keys/" + f.cfg.Key + "/config"
	for _, param := range []string{"exportable", "allow_plaintext_backup", "deletion_allowed", "auto_rotate_period"} {
		value := any(true)
		if param == "auto_rotate_period" {
			value = "1h"
		}
		var re *vaultapi.ResponseError
		if _, err := c.Logical().Write(config, map[string]any{param: value}); !errors.As(err, &re) || re.StatusCode != 403 {
			t.Errorf("the operator token may set %s: %v", param, err)
		}
		// Nor smuggled in beside the one allowed setting.
		if _, err := c.Logical().Write(config, map[string]any{"min_decryption_version": 1, param: value}); !errors.As(err, &re) || re.StatusCode != 403 {
			t.Errorf("the operator token may set %s beside min_decryption_version: %v", param, err)
		}
	}
	s, err := f.root.Logical().Read(f.cfg.Mount + "/keys/" + f.cfg.Key)
	if err != nil || s.Data["exportable"] != false || s.Data["allow_plaintext_backup"] != false || s.Data["deletion_allowed"] != false {
		t.Fatalf("key settings after the attempts: %v, %v", s.Data, err)
	}
	// What it is for still works: rotate, then retire the old version.
	if _, err := c.Logical().Write(f.cfg.Mount+"/keys/"+f.cfg.Key+"/rotate", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write(config, map[string]any{"min_decryption_version": 2}); err != nil {
		t.Fatalf("the operator token may not retire a version: %v", err)
	}
}

func TestRotateRewrapRetire(t *testing.T) {
	f, _ := newFixture(t, false)
	k := f.open(t, f.token(t, vault.ServicePolicy, vault.OperatorPolicy))
	ctx := context.Background()
	owners := []string{"65a000000000000000000001", "65a000000000000000000002", "65a000000000000000000003"}
	deks := map[string][]byte{}
	var keys []strongroom.UserKey
	for _, o := range owners {
		deks[o] = dek()
		w, err := k.Wrap(ctx, o, deks[o])
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, strongroom.UserKey{UserID: o, Key: w})
	}
	v, err := k.Rotate(ctx)
	if err != nil || v != 2 {
		t.Fatalf("Rotate = %d, %v", v, err)
	}
	before := k.Calls()
	re, err := k.Rewrap(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	if n := k.Calls() - before; n != 1 {
		t.Fatalf("rewrapping 3 keys took %d Vault calls, want 1 batch", n)
	}
	for i, w := range re {
		if w.Version != 2 {
			t.Fatalf("rewrapped to v%d", w.Version)
		}
		got, err := strongroom.UnwrapOne(ctx, k, owners[i], w)
		if err != nil || !bytes.Equal(got, deks[owners[i]]) {
			t.Fatalf("rewrapped key of %s: %v", owners[i], err)
		}
	}
	if err := k.Retire(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if newest, oldest, err := k.Versions(ctx); err != nil || newest != 2 || oldest != 2 {
		t.Fatalf("Versions = %d, %d, %v", newest, oldest, err)
	}
	if _, err := strongroom.UnwrapOne(ctx, k, owners[0], keys[0].Key); err == nil {
		t.Fatal("a key wrapped under the retired version still unwraps")
	}
}

func TestAppRoleLoginAndRenewal(t *testing.T) {
	f, res := newFixture(t, true)
	if res.RoleID == "" || res.SecretID == "" {
		t.Fatalf("setup result %+v", res.Done)
	}
	// Short token lives, so renewal and re-login happen during the test.
	if _, err := f.root.Logical().Write("auth/approle/role/"+vault.AppRoleName, map[string]any{
		"token_ttl": "3s", "token_max_ttl": "5s",
	}); err != nil {
		t.Fatal(err)
	}
	cfg := f.cfg
	cfg.RoleID, cfg.SecretID = res.RoleID, res.SecretID
	k, err := vault.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	ctx := context.Background()
	for i := 0; i < 4; i++ { // 8 s: past the first token's max TTL
		if _, err := k.Wrap(ctx, "65a000000000000000000001", dek()); err != nil {
			t.Fatalf("wrap after %d s: %v", 2*i, err)
		}
		time.Sleep(2 * time.Second)
	}
	bad := f.cfg
	bad.RoleID, bad.SecretID = res.RoleID, "not-the-secret"
	if _, err := vault.Open(ctx, bad); err == nil {
		t.Fatal("a wrong secret id logged in")
	}
}

func TestSealedAndUnreachableAreUnavailable(t *testing.T) {
	f, _ := newFixture(t, false)
	k := f.open(t, f.token(t, vault.ServicePolicy))
	ctx := context.Background()
	w, err := k.Wrap(ctx, "65a000000000000000000001", dek())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.root.Sys().Seal(); err != nil {
		t.Fatal(err)
	}
	_, err = strongroom.UnwrapOne(ctx, k, "65a000000000000000000001", w)
	if !strongroom.IsKind(err, strongroom.KindUnavailable) {
		t.Fatalf("unwrap while sealed: %v, want unavailable", err)
	}
	if err := k.Ping(ctx); !strongroom.IsKind(err, strongroom.KindUnavailable) {
		t.Fatalf("ping while sealed: %v", err)
	}
	if _, err := f.root.Sys().Unseal(f.srv.UnsealKey); err != nil {
		t.Fatal(err)
	}
	// Back by itself: the same key manager works again.
	if _, err := strongroom.UnwrapOne(ctx, k, "65a000000000000000000001", w); err != nil {
		t.Fatalf("unwrap after unseal: %v", err)
	}
	if err := k.Ping(ctx); err != nil {
		t.Fatalf("ping after unseal: %v", err)
	}

	// Nobody listening at all.
	dead := f.cfg
	dead.Address, dead.Token = "http://127.0.0.1:1", "x"
	if _, err := vault.Open(ctx, dead); err == nil {
		t.Fatal("Open against a closed port succeeded")
	}
}

func TestSetupIsIdempotent(t *testing.T) {
	f, _ := newFixture(t, false)
	admin := f.cfg
	admin.Token = f.srv.RootToken
	res, err := vault.Setup(context.Background(), admin, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Done) == 0 || !bytes.Contains([]byte(res.Done[1]), []byte("already exists")) {
		t.Fatalf("second setup: %v", res.Done)
	}
}

// A Vault that accepts connections and never answers (a network black
// hole) costs at most the call timeout, then KindUnavailable: no hang.
func TestHangingVaultTimesOut(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var held []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c) // never answered
		}
	}()
	start := time.Now()
	_, err = vault.Open(context.Background(), vault.Config{Address: "http://" + l.Addr().String(), Token: "x", Timeout: 300 * time.Millisecond})
	if !strongroom.IsKind(err, strongroom.KindUnavailable) {
		t.Fatalf("Open against a silent server: %v, want unavailable", err)
	}
	t.Logf("gave up after %v (timeout 300ms)", time.Since(start).Round(time.Millisecond))
}
