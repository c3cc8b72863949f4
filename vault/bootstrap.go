package vault

// Bootstrapping a Vault that the deployment runs itself, on one machine,
// with file storage (the Docker Compose deployment): such a Vault starts
// uninitialized, and comes back sealed after every restart. Sys
// initializes it with a single unseal key share and keeps it unsealed.
// Whoever holds that one share and the root token owns Vault, so this is a
// single-machine convenience: a production Vault is initialized in Vault's
// own ceremony (several shares, held by different people) or auto-unseals
// with a cloud KMS or an HSM, and its root token is revoked after setup.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/strongroom/strongroom/internal/periodic"
	"github.com/strongroom/strongroom/secret"
)

// InitKeys are what initializing Vault returns: the one unseal key share
// and the root token.
type InitKeys struct {
	UnsealKey secret.Value // base64
	RootToken secret.Value
}

// initKeysJSON is the init file's format.
type initKeysJSON struct {
	UnsealKeyB64 string `json:"unseal_key_b64"`
	RootToken    string `json:"root_token"`
}

// MarshalFile returns the keys as the init file holds them:
// {"unseal_key_b64": ..., "root_token": ...}.
func (k InitKeys) MarshalFile() []byte {
	b, _ := json.MarshalIndent(initKeysJSON{UnsealKeyB64: k.UnsealKey.Reveal(), RootToken: k.RootToken.Reveal()}, "", "  ")
	return append(b, '\n')
}

// ParseInitKeys reads an init file. Its errors never quote the file: a
// garbled file may still hold most of a key.
func ParseInitKeys(b []byte) (InitKeys, error) {
	var f initKeysJSON
	if err := json.Unmarshal(b, &f); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return InitKeys{}, fmt.Errorf("not valid JSON (at byte %d)", se.Offset)
		}
		return InitKeys{}, errors.New(`not {"unseal_key_b64": "...", "root_token": "..."}`)
	}
	if f.UnsealKeyB64 == "" || f.RootToken == "" {
		return InitKeys{}, errors.New("unseal_key_b64 or root_token is missing or empty")
	}
	if _, err := base64.StdEncoding.DecodeString(f.UnsealKeyB64); err != nil {
		return InitKeys{}, errors.New("unseal_key_b64 is not base64")
	}
	return InitKeys{UnsealKey: secret.New(f.UnsealKeyB64), RootToken: secret.New(f.RootToken)}, nil
}

// Status is Vault's seal status.
type Status struct {
	Initialized, Sealed bool
}

// Sys talks to the endpoints of Vault's sys/ that need no token: seal
// status, init and unseal.
type Sys struct {
	client *vaultapi.Client
	addr   string
}

// NewSys returns a Sys for cfg.Address (cfg's credentials are not used).
// Its calls time out after cfg.Timeout, 10 s if zero.
func NewSys(cfg Config) (*Sys, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	client, err := newClient(cfg, new(atomic.Int64))
	if err != nil {
		return nil, err
	}
	return &Sys{client: client, addr: cfg.Address}, nil
}

// Status returns whether Vault is initialized and sealed, or an error
// when it does not answer.
func (s *Sys) Status(ctx context.Context) (Status, error) {
	st, err := s.client.Sys().SealStatusWithContext(ctx)
	if err != nil {
		return Status{}, fmt.Errorf("vault: seal status of %s: %w", s.addr, err)
	}
	return Status{Initialized: st.Initialized, Sealed: st.Sealed}, nil
}

// Init initializes Vault with one unseal key share, threshold one, and
// returns the share and the root token. Vault is left sealed.
func (s *Sys) Init(ctx context.Context) (InitKeys, error) {
	res, err := s.client.Sys().InitWithContext(ctx, &vaultapi.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		return InitKeys{}, fmt.Errorf("vault: initialize %s: %w", s.addr, err)
	}
	if len(res.KeysB64) != 1 || res.RootToken == "" {
		return InitKeys{}, fmt.Errorf("vault: initialize %s: %d key shares and a root token of %d bytes, want one share and a token",
			s.addr, len(res.KeysB64), len(res.RootToken))
	}
	return InitKeys{UnsealKey: secret.New(res.KeysB64[0]), RootToken: secret.New(res.RootToken)}, nil
}

// Unseal unseals Vault with one key share. It fails if that share is not
// Vault's, or if Vault needs more shares than one (a Vault that Init did
// not initialize).
func (s *Sys) Unseal(ctx context.Context, key secret.Value) error {
	st, err := s.client.Sys().UnsealWithContext(ctx, key.Reveal())
	if err != nil {
		// Vault's answer names the failure, never the key.
		return fmt.Errorf("vault: unseal %s: %w", s.addr, err)
	}
	if st.Sealed {
		// Forget the share given, so a human's unseal starts afresh.
		_, _ = s.client.Sys().ResetUnsealProcessWithContext(ctx)
		return fmt.Errorf("vault: %s is still sealed after one key share: it needs %d; unseal it by hand", s.addr, st.T)
	}
	return nil
}

// WaitReachable returns once Vault answers, or ctx's error when ctx ends
// first. It asks every interval and logs at most once a minute.
func (s *Sys) WaitReachable(ctx context.Context, every time.Duration, log *slog.Logger) error {
	var gate periodic.Gate
	for {
		_, err := s.Status(ctx)
		if err == nil {
			return nil
		}
		if gate.Due(time.Now(), time.Minute) {
			log.Warn("waiting for Vault to answer", "addr", s.addr, "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
}

// KeepUnsealed checks Vault's seal every interval until ctx ends, and
// unseals it with key when it is sealed (a restarted Vault comes back
// sealed). It logs a line per unseal, and at most a line a minute while
// Vault is unreachable or cannot be unsealed; it never gives up, since a
// Vault that is down now is usually back in a moment.
func (s *Sys) KeepUnsealed(ctx context.Context, key secret.Value, every time.Duration, log *slog.Logger) {
	w := watcher{sys: s, key: key, log: log, gate: new(periodic.Gate)}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.check(ctx)
	}
}

// watcher is KeepUnsealed's state between two checks.
type watcher struct {
	sys  *Sys
	key  secret.Value
	log  *slog.Logger
	gate *periodic.Gate // the lines about trouble: once a minute at most
	down bool           // the last check found trouble
}

func (w *watcher) check(ctx context.Context) {
	st, err := w.sys.Status(ctx)
	switch {
	case err != nil:
		w.trouble("Vault is unreachable; will keep trying", err)
	case !st.Initialized:
		// Its storage was replaced: the AppRole and the key are gone too,
		// and only a new bootstrap can help.
		w.trouble("Vault is not initialized any more (was its storage wiped?): run vault-setup -init-file again", nil)
	case st.Sealed:
		if err := w.sys.Unseal(ctx, w.key); err != nil {
			w.trouble("Vault is sealed and could not be unsealed; will keep trying", err)
			return
		}
		w.log.Info("Vault was sealed: unsealed it", "addr", w.sys.addr)
		w.recovered(false)
	default:
		w.recovered(true)
	}
}

func (w *watcher) trouble(msg string, err error) {
	w.down = true
	if w.gate.Due(time.Now(), time.Minute) {
		attrs := []any{"addr", w.sys.addr}
		if err != nil {
			attrs = append(attrs, "err", err)
		}
		w.log.Warn(msg, attrs...)
	}
}

// recovered ends a spell of trouble: the next trouble is logged at once.
func (w *watcher) recovered(say bool) {
	if w.down && say {
		w.log.Info("Vault answers and is unsealed again", "addr", w.sys.addr)
	}
	w.down = false
	w.gate = new(periodic.Gate)
}
