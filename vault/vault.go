// Package vault is the production key manager: HashiCorp Vault's Transit
// engine holds the master key, so it never leaves Vault (the seed design
// copied it out of Vault KV into the application).
//
// Each data key is encrypted by Transit under a derived key: the user's id
// is the derivation context, so a wrapped key copied to another user does
// not decrypt. Rotation is Transit's "rotate" then "rewrap" of every
// wrapped key, in batches, so plaintext data keys never leave Vault during
// a rotation; the old versions are retired by raising the key's
// min_decryption_version once no data key uses them. Every call has a
// deadline: when Vault is unreachable or sealed, callers get KindUnavailable
// within Timeout, and the next call tries again.
package vault

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/strongroom/strongroom"
)

var _ strongroom.KeyManager = (*KMS)(nil)

// Defaults.
const (
	DefaultMount   = "transit"
	DefaultKey     = "strongroom-master"
	DefaultTimeout = 2 * time.Second
)

// Config says where the key is and how to log in. Either Token or RoleID
// with SecretID is required.
type Config struct {
	Address  string
	Mount    string // Transit mount, DefaultMount if empty
	Key      string // Transit key name, DefaultKey if empty
	Token    string
	RoleID   string // AppRole login, instead of Token
	SecretID string
	// AppRoleMount is the AppRole auth mount ("approle").
	AppRoleMount string
	Timeout      time.Duration // per call, DefaultTimeout if zero
	Log          *slog.Logger
}

// KMS is the Vault Transit key manager.
type KMS struct {
	client *vaultapi.Client
	cfg    Config
	log    *slog.Logger
	calls  atomic.Int64

	stop     chan struct{}
	stopOnce sync.Once
	done     sync.WaitGroup
}

// countingTransport counts the HTTP requests made to Vault.
type countingTransport struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	return t.next.RoundTrip(r)
}

// Open connects and logs in, and keeps the token renewed until Close.
func Open(ctx context.Context, cfg Config) (*KMS, error) {
	if cfg.Mount == "" {
		cfg.Mount = DefaultMount
	}
	if cfg.Key == "" {
		cfg.Key = DefaultKey
	}
	if cfg.AppRoleMount == "" {
		cfg.AppRoleMount = "approle"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Token == "" && (cfg.RoleID == "" || cfg.SecretID == "") {
		return nil, errors.New("vault: set VAULT_TOKEN, or VAULT_ROLE_ID and VAULT_SECRET_ID")
	}
	k := &KMS{cfg: cfg, log: cfg.Log, stop: make(chan struct{})}
	client, err := newClient(cfg, &k.calls)
	if err != nil {
		return nil, err
	}
	k.client = client
	ttl, renewable, err := k.login(ctx)
	if err != nil {
		return nil, err
	}
	k.done.Add(1)
	go k.renew(ttl, renewable)
	return k, nil
}

// newClient returns a Vault client for cfg that counts its requests in n.
func newClient(cfg Config, n *atomic.Int64) (*vaultapi.Client, error) {
	vc := vaultapi.DefaultConfig()
	if vc.Error != nil {
		return nil, fmt.Errorf("vault: %w", vc.Error)
	}
	vc.Address = cfg.Address
	vc.Timeout = cfg.Timeout
	vc.MaxRetries = 0 // a bounded answer beats a retry past the deadline
	vc.HttpClient.Transport = countingTransport{next: vc.HttpClient.Transport, n: n}
	client, err := vaultapi.NewClient(vc)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	client.ClearToken() // never pick up VAULT_TOKEN behind the configuration's back
	return client, nil
}

// Close stops the token renewal.
func (k *KMS) Close() error {
	k.stopOnce.Do(func() { close(k.stop) })
	k.done.Wait()
	return nil
}

// Calls returns how many HTTP requests were made to Vault so far.
func (k *KMS) Calls() int64 { return k.calls.Load() }

func (k *KMS) path(op string) string { return k.cfg.Mount + "/" + op + "/" + k.cfg.Key }

func (k *KMS) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, k.cfg.Timeout)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// Wrap encrypts dek under the newest key version, derived for owner.
func (k *KMS) Wrap(ctx context.Context, owner string, dek []byte) (strongroom.WrappedKey, error) {
	ctx, cancel := k.withTimeout(ctx)
	defer cancel()
	s, err := k.client.Logical().WriteWithContext(ctx, k.path("encrypt"), map[string]any{
		"plaintext": base64.StdEncoding.EncodeToString(dek),
		"context":   b64(owner),
	})
	if err != nil {
		return strongroom.WrappedKey{}, mapErr("encrypt", err)
	}
	ct, _ := s.Data["ciphertext"].(string)
	return Wrapped(ct)
}

// Wrapped is the wrapped key a Transit ciphertext is, as it is stored: the
// ciphertext and the key version read out of its "vault:v<N>:" prefix.
func Wrapped(ct string) (strongroom.WrappedKey, error) {
	rest, ok := strings.CutPrefix(ct, "vault:v")
	vs, _, ok2 := strings.Cut(rest, ":")
	v, err := strconv.Atoi(vs)
	if !ok || !ok2 || err != nil || v < 1 {
		return strongroom.WrappedKey{}, strongroom.Internal("vault", errors.New("unexpected ciphertext format from Transit"))
	}
	return strongroom.WrappedKey{Ciphertext: ct, Version: v}, nil
}

// Unwrap decrypts wrapped data keys in one batch request. A key Transit
// cannot decrypt (damaged, or another owner's) fails alone: Vault is asked
// to answer 200 when only some fail, and 400 comes only when all do.
func (k *KMS) Unwrap(ctx context.Context, keys []strongroom.UserKey) ([]strongroom.Unwrapped, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	results, err := k.batch(ctx, "decrypt", keys, map[string]any{"partial_failure_response_code": http.StatusOK})
	if err != nil {
		return nil, err
	}
	out := make([]strongroom.Unwrapped, len(keys))
	for i, m := range results {
		if e, _ := m["error"].(string); e != "" {
			out[i].Err = strongroom.Internal("vault: decrypt", fmt.Errorf("user %s: %s", keys[i].UserID, e))
			continue
		}
		pt, _ := m["plaintext"].(string)
		if out[i].DEK, err = base64.StdEncoding.DecodeString(pt); err != nil {
			out[i].Err = strongroom.Internal("vault: decrypt", errors.New("plaintext is not base64"))
		}
	}
	return out, nil
}

// Rotate adds a key version (operator policy) and returns it.
func (k *KMS) Rotate(ctx context.Context) (int, error) {
	ctx, cancel := k.withTimeout(ctx)
	defer cancel()
	if _, err := k.client.Logical().WriteWithContext(ctx, k.cfg.Mount+"/keys/"+k.cfg.Key+"/rotate", nil); err != nil {
		return 0, mapErr("rotate", err)
	}
	newest, _, err := k.Versions(ctx)
	return newest, err
}

// Rewrap re-encrypts wrapped keys under the newest version in one batch
// request; the data keys stay inside Vault.
func (k *KMS) Rewrap(ctx context.Context, keys []strongroom.UserKey) ([]strongroom.WrappedKey, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	results, err := k.batch(ctx, "rewrap", keys, nil)
	if err != nil {
		return nil, err
	}
	out := make([]strongroom.WrappedKey, len(keys))
	for i, m := range results {
		if e, _ := m["error"].(string); e != "" {
			return nil, strongroom.Internal("vault: rewrap", fmt.Errorf("user %s: %s", keys[i].UserID, e))
		}
		ct, _ := m["ciphertext"].(string)
		if out[i], err = Wrapped(ct); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// batch sends the wrapped keys to Transit's op (decrypt, rewrap) in one
// request, each with its owner as the derivation context, with params
// besides, and returns Vault's batch_results, one per key in their order.
func (k *KMS) batch(ctx context.Context, op string, keys []strongroom.UserKey, params map[string]any) ([]map[string]any, error) {
	ctx, cancel := k.withTimeout(ctx)
	defer cancel()
	input := make([]map[string]any, len(keys))
	for i, uk := range keys {
		input[i] = map[string]any{"ciphertext": uk.Key.Ciphertext, "context": b64(uk.UserID)}
	}
	body := map[string]any{"batch_input": input}
	for name, v := range params {
		body[name] = v
	}
	s, err := k.client.Logical().WriteWithContext(ctx, k.path(op), body)
	if err != nil {
		return nil, mapErr(op, err)
	}
	raw, _ := s.Data["batch_results"].([]any)
	if len(raw) != len(keys) {
		return nil, strongroom.Internal("vault: "+op, fmt.Errorf("%d results for %d keys", len(raw), len(keys)))
	}
	results := make([]map[string]any, len(raw))
	for i, r := range raw {
		results[i], _ = r.(map[string]any)
	}
	return results, nil
}

// Retire raises min_decryption_version to below (operator policy). Vault
// keeps the old versions' material, so an operator can lower it again.
func (k *KMS) Retire(ctx context.Context, below int) error {
	ctx, cancel := k.withTimeout(ctx)
	defer cancel()
	_, err := k.client.Logical().WriteWithContext(ctx, k.cfg.Mount+"/keys/"+k.cfg.Key+"/config", map[string]any{
		"min_decryption_version": below,
	})
	return mapErr("retire", err)
}

// Versions returns the newest key version and the oldest still decrypting
// (operator policy: it reads the key's metadata, never its material).
func (k *KMS) Versions(ctx context.Context) (int, int, error) {
	ctx, cancel := k.withTimeout(ctx)
	defer cancel()
	s, err := k.client.Logical().ReadWithContext(ctx, k.cfg.Mount+"/keys/"+k.cfg.Key)
	if err != nil {
		return 0, 0, mapErr("read key", err)
	}
	if s == nil {
		return 0, 0, strongroom.Internal("vault", fmt.Errorf("transit key %s/%s does not exist: run strongroom vault-setup", k.cfg.Mount, k.cfg.Key))
	}
	newest, err1 := jsonInt(s.Data["latest_version"])
	oldest, err2 := jsonInt(s.Data["min_decryption_version"])
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, strongroom.Internal("vault: read key", err)
	}
	return newest, oldest, nil
}

func jsonInt(v any) (int, error) {
	switch n := v.(type) {
	case interface{ Int64() (int64, error) }:
		i, err := n.Int64()
		return int(i), err
	case float64:
		return int(n), nil
	}
	return 0, fmt.Errorf("not a number: %T", v)
}

// Ping reports whether Vault answers and is unsealed.
func (k *KMS) Ping(ctx context.Context) error {
	ctx, cancel := k.withTimeout(ctx)
	defer cancel()
	h, err := k.client.Sys().HealthWithContext(ctx)
	if err != nil {
		return mapErr("health", err)
	}
	if h.Sealed || !h.Initialized {
		return strongroom.Unavailable("key manager unavailable: Vault is sealed", errors.New("vault: sealed"))
	}
	return nil
}

// mapErr turns a Vault client error into the service's error kinds.
func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var re *vaultapi.ResponseError
	if errors.As(err, &re) {
		switch {
		case re.StatusCode == http.StatusForbidden:
			return &strongroom.Error{Kind: strongroom.KindForbidden,
				Message: "the key manager refused: this server's Vault token is not allowed to " + op,
				Err:     fmt.Errorf("vault: %s: %w", op, err)}
		case re.StatusCode == http.StatusServiceUnavailable, re.StatusCode == http.StatusTooManyRequests, re.StatusCode >= 500:
			return strongroom.Unavailable("key manager unavailable (Vault is sealed or overloaded); try again shortly", fmt.Errorf("vault: %s: %w", op, err))
		}
		return strongroom.Internal("vault: "+op, err)
	}
	// No answer at all: refused, reset, timed out.
	return strongroom.Unavailable("key manager unreachable; try again shortly", fmt.Errorf("vault: %s: %w", op, err))
}
