package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/internal/testserver"
	"github.com/strongroom/strongroom/vault"
)

// benchVault is a Vault dev server of the harness's own (the test server,
// built once into the cache), with a Transit key made by vault.Setup and a
// token holding the service and operator policies: what a server gets from
// "vault-setup -approle -approle-operator", so that the administrator may
// rotate over the API.
type benchVault struct {
	srv    *testserver.Vault
	token  string
	client *vaultapi.Client // with token
}

func startBenchVault(ctx context.Context) (*benchVault, error) {
	bin, err := testserver.Build("vault")
	if err != nil {
		return nil, err
	}
	srv, err := testserver.StartVault(bin)
	if err != nil {
		return nil, err
	}
	v := &benchVault{srv: srv}
	if err := v.setup(ctx); err != nil {
		srv.Stop()
		return nil, err
	}
	return v, nil
}

func (v *benchVault) setup(ctx context.Context) error {
	if _, err := vault.Setup(ctx, vault.Config{Address: v.srv.Addr, Token: v.srv.RootToken}, false); err != nil {
		return err
	}
	root, err := v.newClient(v.srv.RootToken)
	if err != nil {
		return err
	}
	s, err := root.Auth().Token().CreateWithContext(ctx, &vaultapi.TokenCreateRequest{
		Policies: []string{vault.ServicePolicy, vault.OperatorPolicy}, TTL: "4h"})
	if err != nil {
		return fmt.Errorf("vault: create the server's token: %w", err)
	}
	v.token = s.Auth.ClientToken
	v.client, err = v.newClient(v.token)
	return err
}

func (v *benchVault) newClient(token string) (*vaultapi.Client, error) {
	cfg := vaultapi.DefaultConfig()
	cfg.Address, cfg.MaxRetries, cfg.Timeout = v.srv.Addr, 0, time.Minute
	c, err := vaultapi.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	c.SetToken(token)
	return c, nil
}

func (v *benchVault) stop() { v.srv.Stop() }

// env points a strongroom server at this Vault, with the default mount
// and key.
func (v *benchVault) env() []string {
	return []string{"VAULT_ADDR=" + v.srv.Addr, "VAULT_TOKEN=" + v.token}
}

// transit makes one Transit call on the key with batch_input and returns
// its batch_results, or the first item's error.
func (v *benchVault) transit(ctx context.Context, op string, items []map[string]any) ([]map[string]any, error) {
	s, err := v.client.Logical().WriteWithContext(ctx, vault.DefaultMount+"/"+op+"/"+vault.DefaultKey, map[string]any{"batch_input": items})
	if err != nil {
		return nil, fmt.Errorf("vault %s: %w", op, err)
	}
	if s == nil {
		return nil, fmt.Errorf("vault %s: empty answer", op)
	}
	raw, _ := s.Data["batch_results"].([]any)
	if len(raw) != len(items) {
		return nil, fmt.Errorf("vault %s: %d results for %d items", op, len(raw), len(items))
	}
	out := make([]map[string]any, len(raw))
	for i, r := range raw {
		out[i], _ = r.(map[string]any)
		if e, _ := out[i]["error"].(string); e != "" {
			return nil, fmt.Errorf("vault %s: item %d: %s", op, i, e)
		}
	}
	return out, nil
}

// wrap is seed's wrapFunc for this Vault: one Transit "encrypt" call for
// the whole chunk, each data key under the key derived for its user (the
// user's id, base64, as context), exactly as vault.KMS.Wrap makes one at
// registration and as its Unwrap reads it.
func (v *benchVault) wrap(ctx context.Context, ids []string, deks [][]byte) ([]strongroom.WrappedKey, error) {
	items := make([]map[string]any, len(ids))
	for i := range ids {
		items[i] = map[string]any{"plaintext": base64.StdEncoding.EncodeToString(deks[i]), "context": b64(ids[i])}
	}
	res, err := v.transit(ctx, "encrypt", items)
	if err != nil {
		return nil, err
	}
	out := make([]strongroom.WrappedKey, len(res))
	for i, r := range res {
		ct, _ := r["ciphertext"].(string)
		if out[i], err = vault.Wrapped(ct); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// rotationVault is the rotation scenario on Vault: a Vault dev server of
// its own, rotationUsers users whose data keys its Transit key wraps, a
// strongroom server on it, and reads idle and during a rotation over the
// API (Transit "rotate", then "rewrap" batch by batch).
func (s *scenarios) rotationVault(ctx context.Context, bin, work string, env []string) error {
	fmt.Fprintln(os.Stderr, "starting a Vault dev server...")
	v, err := startBenchVault(ctx)
	if err != nil {
		return err
	}
	defer v.stop()
	env = append(append([]string{}, env...), v.env()...)
	dir := filepath.Join(work, "rotation-vault")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := makeSchema(bin, dir, env); err != nil {
		return err
	}
	n := s.o.rotationUsers
	fmt.Fprintf(os.Stderr, "seeding %d users, their data keys wrapped by Vault...\n", n)
	start := time.Now()
	users, err := seedWith(ctx, dir, n, 1, v.wrap)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	s.rep.Measured["rotation_vault_seed_seconds"] = round(time.Since(start).Seconds())
	srv, err := startStrongroom(bin, dir, env)
	if err != nil {
		return err
	}
	defer srv.stop()
	calls0 := srv.stats().VaultCalls
	rr, err := s.rotateUnderReads(ctx, srv, users, "Vault rotation", "rotation-vault", srv.cmd.Process.Pid, v.srv.Pid(), os.Getpid())
	if err != nil {
		return err
	}
	calls1 := srv.stats().VaultCalls
	rate := float64(users.len()) / rr.took.Seconds()
	s.rep.Measured["rotation_vault_seconds"] = round(rr.took.Seconds())
	s.rep.Measured["rotation_vault_deks_per_s"] = round(rate)
	s.rep.Measured["rotation_vault_read_p99_ratio"] = round(rr.during.P99ms / rr.idle.P99ms)
	if calls0 >= 0 && calls1 >= 0 {
		// Warm-up and idle reads' unwraps included: at most one per user
		// read (1 000), made before the rotation.
		s.rep.Measured["rotation_vault_calls"] = calls1 - calls0
	}
	for i, name := range []string{"server", "vault", "readers"} {
		s.rep.Measured["rotation_vault_"+name+"_cores"] = round(rr.cpu[i] / rr.took.Seconds())
	}
	s.verdict("Vault rotation DEKs rewrapped per s", round(rate), 2000, ">=", "%.0f")
	s.verdict("read p99 during Vault rotation vs before", round(rr.during.P99ms/rr.idle.P99ms), 2, "<=", "%.2f")
	return nil
}

// transit measures the Vault dev server's Transit throughput with
// batch_input, for sizing a deployment: "decrypt" (a data key's unwrap on
// a cache miss) at batches of 1, 10, 100 and 1 000 keys, from one client
// and from 16 at once, and "rewrap" (a rotation's work) at batches of 100,
// 500, 1 000 and 5 000 keys, from one client (as a rotation calls) and from
// two. The keys are 10 000 data keys under version 1 of a key derived per
// user, as the server's; the key is then rotated, so each rewrap moves a
// key from version 1 to 2. Only when named: -scenario transit.
func (s *scenarios) transit(ctx context.Context) error {
	fmt.Fprintln(os.Stderr, "starting a Vault dev server...")
	v, err := startBenchVault(ctx)
	if err != nil {
		return err
	}
	defer v.stop()
	const pool = 10_000
	type key struct{ ct, context string }
	keys := make([]key, 0, pool)
	for len(keys) < pool {
		ids, deks := make([]string, seedChunk), make([][]byte, seedChunk)
		for i := range ids {
			ids[i], deks[i] = strongroom.NewID(time.Now()), make([]byte, 32)
			_, _ = rand.Read(deks[i])
		}
		w, err := v.wrap(ctx, ids, deks)
		if err != nil {
			return err
		}
		for i := range w {
			keys = append(keys, key{w[i].Ciphertext, b64(ids[i])})
		}
	}
	root, err := v.newClient(v.srv.RootToken)
	if err != nil {
		return err
	}
	if _, err := root.Logical().WriteWithContext(ctx, vault.DefaultMount+"/keys/"+vault.DefaultKey+"/rotate", nil); err != nil {
		return err
	}
	measure := func(op string, batch, clients int) error {
		var calls, done atomic.Int64
		var lat []time.Duration
		var mu sync.Mutex
		var firstErr error
		stop := time.Now().Add(s.o.duration)
		var wg sync.WaitGroup
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var mine []time.Duration
				for i := c * batch; time.Now().Before(stop); i += clients * batch {
					items := make([]map[string]any, batch)
					for j := range items {
						k := keys[(i+j)%len(keys)]
						items[j] = map[string]any{"ciphertext": k.ct, "context": k.context}
					}
					t := time.Now()
					if _, err := v.transit(ctx, op, items); err != nil {
						mu.Lock()
						firstErr = cmp.Or(firstErr, err)
						mu.Unlock()
						return
					}
					mine = append(mine, time.Since(t))
					calls.Add(1)
					done.Add(int64(batch))
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			}()
		}
		start := time.Now()
		cpu0 := cpuSeconds(v.srv.Pid())
		wg.Wait()
		el := time.Since(start).Seconds()
		if firstErr != nil {
			return firstErr
		}
		slices.Sort(lat)
		name := fmt.Sprintf("transit_%s_batch%d_clients%d", op, batch, clients)
		s.rep.Measured[name] = map[string]float64{"keys_per_s": round(float64(done.Load()) / el), "calls_per_s": round(float64(calls.Load()) / el),
			"p50_ms": pct(lat, 0.5), "p99_ms": pct(lat, 0.99), "vault_cores": round((cpuSeconds(v.srv.Pid()) - cpu0) / el)}
		fmt.Fprintf(os.Stderr, "%-8s batch %5d, %2d clients: %8.0f keys/s %7.0f calls/s  p50 %7.2f ms  p99 %7.2f ms  Vault %.2f cores\n", op, batch, clients,
			float64(done.Load())/el, float64(calls.Load())/el, pct(lat, 0.5), pct(lat, 0.99), (cpuSeconds(v.srv.Pid())-cpu0)/el)
		return nil
	}
	for _, clients := range []int{1, 16} {
		for _, batch := range []int{1, 10, 100, 1000} {
			if err := measure("decrypt", batch, clients); err != nil {
				return err
			}
		}
	}
	for _, clients := range []int{1, 2} {
		for _, batch := range []int{100, 500, 1000, 5000} {
			if err := measure("rewrap", batch, clients); err != nil {
				return err
			}
		}
	}
	return nil
}
