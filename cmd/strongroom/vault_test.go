package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/strongroom/strongroom/internal/testserver"
	"github.com/strongroom/strongroom/secret"
	"github.com/strongroom/strongroom/vault"
)

// withVault points cfg at the test Vault server, with a fresh Transit key
// set up by vault-setup and a token holding the given policies.
func withVault(t testing.TB, cfg Config, policies ...string) Config {
	t.Helper()
	srv := testserver.VaultServer(t)
	var b [4]byte
	_, _ = rand.Read(b[:])
	cfg.VaultAddr, cfg.VaultMount, cfg.VaultKey = srv.Addr, "transit", "e2e-"+hex.EncodeToString(b[:])
	vaultSetupMu.Lock()
	defer vaultSetupMu.Unlock()
	_, err := vault.Setup(context.Background(), vault.Config{Address: srv.Addr, Mount: cfg.VaultMount, Key: cfg.VaultKey, Token: srv.RootToken}, false)
	if err != nil {
		t.Fatal(err)
	}
	// Setup's policies name its one key, so the next test's Setup rewrites
	// them for another (tests sharing the server run in parallel): the
	// token holds copies of them as Setup just wrote them, named for this
	// key, that no other test rewrites.
	root := vaultRoot(t)
	for _, p := range []string{vault.ServicePolicy, vault.OperatorPolicy} {
		rules, err := root.Sys().GetPolicy(p)
		if err != nil || rules == "" {
			t.Fatalf("policy %s: %q, %v", p, rules, err)
		}
		if err := root.Sys().PutPolicy(keyPolicies(cfg.VaultKey, p)[0], rules); err != nil {
			t.Fatal(err)
		}
	}
	s, err := root.Auth().Token().Create(&vaultapi.TokenCreateRequest{Policies: keyPolicies(cfg.VaultKey, policies...), TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.VaultToken = secret.New(s.Auth.ClientToken)
	return cfg
}

// vaultSetupMu is held from a withVault's vault.Setup until its policies
// are copied.
var vaultSetupMu sync.Mutex

// keyPolicies are the names of withVault's copies of the policies for key.
func keyPolicies(key string, policies ...string) []string {
	var names []string
	for _, p := range policies {
		names = append(names, p+"-"+key)
	}
	return names
}

func vaultRoot(t testing.TB) *vaultapi.Client {
	t.Helper()
	srv := testserver.VaultServer(t)
	c, err := vaultapi.NewClient(&vaultapi.Config{Address: srv.Addr})
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(srv.RootToken)
	return c
}

func vaultCalls(t *testing.T, s *testServer) int64 {
	t.Helper()
	k, ok := s.Keys.(*vault.KMS)
	if !ok {
		t.Fatalf("key manager is %T, want Vault", s.Keys)
	}
	return k.Calls()
}

// TestVaultStaysOffTheHotPath: steady-state reads make no Vault call; after
// a restart (empty cache) the first read of a user costs exactly one.
func TestVaultStaysOffTheHotPath(t *testing.T) {
	t.Parallel()
	cfg := withVault(t, testConfig(t, t.TempDir()), vault.ServicePolicy)
	s := startServer(t, cfg)
	s.register("reader", seedPassword)
	tok := s.login("reader", seedPassword)
	id := s.do("POST", "/sensitive-data", tok, map[string]string{"data_type": "card_number", "value": seedCard}).want(t, 200, "create").JSON["id"].(string)
	before := vaultCalls(t, s)
	for i := 0; i < 20; i++ {
		s.do("GET", "/sensitive-data/"+id, tok, nil).want(t, 200, "read")
		s.do("GET", "/sensitive-data", tok, nil).want(t, 200, "list")
	}
	if n := vaultCalls(t, s) - before; n != 0 {
		t.Fatalf("40 reads with a cached data key made %d Vault calls, want 0", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := startServer(t, cfg) // a restart: the cache is empty
	before = vaultCalls(t, s2)
	s2.do("GET", "/sensitive-data/"+id, tok, nil).want(t, 200, "first read after restart")
	if n := vaultCalls(t, s2) - before; n != 1 {
		t.Fatalf("a cache miss made %d Vault calls, want 1", n)
	}
	for i := 0; i < 20; i++ {
		s2.do("GET", "/sensitive-data/"+id, tok, nil).want(t, 200, "read")
	}
	if n := vaultCalls(t, s2) - before; n != 1 {
		t.Fatalf("reads after the miss made %d more Vault calls, want 0", n-1)
	}
}

// TestVaultOutageLosesNothing seals Vault under a running Strongroom with
// an empty cache: data endpoints answer 503 with a detail, nothing is
// written half-way, and service resumes by itself when Vault is unsealed;
// a restart of Strongroom then still reads everything.
func TestVaultOutageLosesNothing(t *testing.T) {
	// Not parallel: it seals the Vault dev server that other tests share.
	cfg := withVault(t, testConfig(t, t.TempDir()), vault.ServicePolicy)
	s := startServer(t, cfg)
	s.register("keeper", seedPassword)
	tok := s.login("keeper", seedPassword)
	for _, v := range []string{seedCard, seedCard2, keptCard} {
		s.do("POST", "/sensitive-data", tok, map[string]string{"data_type": "card_number", "value": v}).want(t, 200, "create")
	}
	want := s.do("GET", "/sensitive-data", tok, nil).want(t, 200, "list").Raw
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = startServer(t, cfg)

	root := vaultRoot(t)
	if err := root.Sys().Seal(); err != nil {
		t.Fatal(err)
	}
	unsealed := false
	defer func() {
		if !unsealed {
			_, _ = root.Sys().Unseal(testserver.VaultServer(t).UnsealKey)
		}
	}()
	start := time.Now()
	r := s.do("GET", "/sensitive-data", tok, nil).want(t, 503, "list while sealed")
	t.Logf("503 after %v while Vault is sealed: %s", time.Since(start).Round(time.Millisecond), r.JSON["detail"])
	if r.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	s.do("POST", "/sensitive-data", tok, map[string]string{"data_type": "card_number", "value": "5555555555554444"}).want(t, 503, "create while sealed")
	s.do("POST", "/register", "", map[string]string{"username": "newbie", "email": "newbie@example.com", "password": seedPassword}).want(t, 503, "register while sealed")
	s.do("GET", "/readyz", "", nil).want(t, 503, "readyz while sealed")

	if _, err := root.Sys().Unseal(testserver.VaultServer(t).UnsealKey); err != nil {
		t.Fatal(err)
	}
	unsealed = true
	s.do("GET", "/readyz", "", nil).want(t, 200, "readyz after unseal")
	if got := s.do("GET", "/sensitive-data", tok, nil).want(t, 200, "list after unseal").Raw; got != want {
		t.Fatalf("after the outage:\n%s\nwant\n%s", got, want)
	}
	// The refused registration left nothing behind: the name is free.
	s.register("newbie", seedPassword)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = startServer(t, cfg)
	if got := s.do("GET", "/sensitive-data", tok, nil).want(t, 200, "list after restart").Raw; got != want {
		t.Fatalf("after a restart:\n%s\nwant\n%s", got, want)
	}
}

// With only the service policy, the admin's rotation is refused clearly:
// rotating is the operator's right.
func TestVaultRotationNeedsOperatorPolicy(t *testing.T) {
	t.Parallel()
	cfg := withVault(t, testConfig(t, t.TempDir()), vault.ServicePolicy)
	s := startServer(t, cfg)
	s.register("admin", seedPassword)
	r := s.do("POST", "/rotate-master-key", s.login("admin", seedPassword), nil).want(t, 403, "rotation with the service policy only")
	t.Logf("detail: %s", r.JSON["detail"])

	// The operator rotates from the command line, at once: the refused
	// attempt gave its lease up.
	op := NewMain()
	op.Config = cfg
	s2, err := vaultRoot(t).Auth().Token().Create(&vaultapi.TokenCreateRequest{Policies: keyPolicies(cfg.VaultKey, vault.ServicePolicy, vault.OperatorPolicy), TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	op.Config.VaultToken = secret.New(s2.Auth.ClientToken)
	op.Log = discardLog()
	var out strings.Builder
	op.Stdout = &out
	if err := op.RotateMasterKey(context.Background()); err != nil {
		t.Fatalf("operator rotation: %v", err)
	}
	if !strings.Contains(out.String(), "state: done") || !strings.Contains(out.String(), "version: 2") {
		t.Fatalf("operator rotation printed:\n%s", out.String())
	}
	s.do("GET", "/sensitive-data", s.login("admin", seedPassword), nil).want(t, 200, "reads after the operator's rotation")
}

// TestSessionsAndDeletionOnVault: logout, the password change and the
// account's crypto-shredding work the same with Vault holding the master
// key, on both stores.
func TestSessionsAndDeletionOnVault(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		f    func(*testing.T, Config)
	}{
		{"logout", testLogoutEndsOnlyThatSession},
		{"change-password", testChangePassword},
		{"delete-account", testDeleteAccount},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			forEachStoreParallel(t, func(t *testing.T, cfg Config) { tc.f(t, withVault(t, cfg, vault.ServicePolicy)) })
		})
	}
}
