package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/strongroom/strongroom/secret"
	"github.com/strongroom/strongroom/vault"
)

// vaultWatchInterval is how often vault-setup -watch checks Vault's seal:
// a restarted Vault is back in service within about this long.
const vaultWatchInterval = 2 * time.Second

// VaultSetup is the operator's command that prepares Vault (VAULT_ADDR,
// with a privileged VAULT_TOKEN or, for a single-machine Vault, the root
// token of -init-file). With -watch it then keeps Vault unsealed until ctx
// ends, and returns nil.
func (m *Main) VaultSetup(ctx context.Context) error {
	if err := m.checkVaultSetupFlags(); err != nil {
		return err
	}
	cfg := m.Config
	oldSecretID := m.oldSecretID()
	if m.Watch && m.AppRole {
		// Until this run has finished setup, there are no files: a
		// healthcheck that tests for the secret-id file then means "the
		// bootstrap set up this Vault", not "a bootstrap once did".
		if err := removeIfPresent(m.RoleIDFile, m.SecretIDFile); err != nil {
			return err
		}
	}
	token := cfg.VaultToken
	var sys *vault.Sys
	var keys vault.InitKeys
	if m.InitFile != "" {
		var err error
		if sys, err = vault.NewSys(vault.Config{Address: cfg.VaultAddr}); err != nil {
			return err
		}
		if m.Watch { // started with Vault, which may not answer yet
			if err := sys.WaitReachable(ctx, vaultWatchInterval, m.Log); err != nil {
				return err
			}
		}
		if keys, err = m.initOrUnseal(ctx, sys); err != nil {
			return err
		}
		if !token.IsSet() {
			token = keys.RootToken
			fmt.Fprintf(m.Stdout, "using the root token from %s (VAULT_TOKEN is not set)\n", m.InitFile)
		}
	}
	if err := m.setupVault(ctx, token, oldSecretID); err != nil {
		return err
	}
	if m.Watch {
		m.Log.Info("vault-setup done; keeping Vault unsealed until stopped", "addr", cfg.VaultAddr, "every", vaultWatchInterval.String())
		sys.KeepUnsealed(ctx, keys.UnsealKey, vaultWatchInterval, m.Log)
		m.Log.Info("vault-setup stopped watching Vault")
	}
	return nil
}

// checkVaultSetupFlags refuses flag combinations that cannot work, before
// anything is done.
func (m *Main) checkVaultSetupFlags() error {
	switch {
	case m.AppRole && (m.RoleIDFile == "" || m.SecretIDFile == ""):
		return errors.New("vault-setup -approle needs -role-id-file and -secret-id-file")
	case m.AppRoleOperator && !m.AppRole:
		return errors.New("vault-setup -approle-operator needs -approle")
	case m.Watch && m.InitFile == "":
		return errors.New("vault-setup -watch needs -init-file: it unseals Vault with the key kept there")
	case m.Config.VaultAddr == "":
		return errors.New("vault-setup needs VAULT_ADDR")
	case !m.Config.VaultToken.IsSet() && m.InitFile == "":
		return errors.New("vault-setup needs a VAULT_TOKEN allowed to mount engines and write policies (or, for a single-machine Vault, -init-file)")
	}
	// One file written over another would lose a secret: the init file's
	// keys are the only way into this Vault.
	seen := map[string]string{}
	for flag, path := range map[string]string{"-init-file": m.InitFile, "-role-id-file": m.RoleIDFile, "-secret-id-file": m.SecretIDFile} {
		if path == "" {
			continue
		}
		path = filepath.Clean(path)
		if other, ok := seen[path]; ok {
			return fmt.Errorf("vault-setup: %s and %s are the same file", other, flag)
		}
		seen[path] = flag
	}
	return nil
}

// oldSecretID returns the secret id the secret-id file holds, if any:
// setup keeps it while Vault accepts it (see vault.SetupOptions).
func (m *Main) oldSecretID() string {
	if !m.AppRole {
		return ""
	}
	b, err := os.ReadFile(m.SecretIDFile)
	if err != nil {
		return "" // none yet, or unreadable: a new one is made and written
	}
	return strings.TrimSpace(string(b))
}

// setupVault runs the setup with token and writes the AppRole files, the
// secret id last: its file appearing means the setup is complete.
func (m *Main) setupVault(ctx context.Context, token secret.Value, oldSecretID string) error {
	cfg := m.Config
	res, err := vault.SetupWith(ctx, vault.Config{Address: cfg.VaultAddr, Mount: cfg.VaultMount, Key: cfg.VaultKey, Token: token.Reveal()},
		vault.SetupOptions{AppRole: m.AppRole, Operator: m.AppRoleOperator, SecretID: oldSecretID})
	for _, line := range res.Done {
		fmt.Fprintln(m.Stdout, line)
	}
	if err != nil {
		return err
	}
	if m.AppRole {
		if err := writeFileAtomic(m.RoleIDFile, []byte(res.RoleID+"\n")); err != nil {
			return fmt.Errorf("vault-setup: role id file: %w", err)
		}
		if err := writeFileAtomic(m.SecretIDFile, []byte(res.SecretID+"\n")); err != nil {
			return fmt.Errorf("vault-setup: secret id file: %w", err)
		}
		fmt.Fprintf(m.Stdout, "wrote the role id to %s and the secret id to %s: give them to the server as VAULT_ROLE_ID_FILE and VAULT_SECRET_ID_FILE\n",
			m.RoleIDFile, m.SecretIDFile)
	}
	fmt.Fprintf(m.Stdout, "policies: %s for the server, %s for operators who rotate the master key\n", vault.ServicePolicy, vault.OperatorPolicy)
	if m.AppRoleOperator {
		fmt.Fprintf(m.Stdout, "the AppRole role has both: the server's credentials can rotate the master key\n")
	}
	return nil
}

// initOrUnseal makes Vault usable with the init file's keys: an
// uninitialized Vault is initialized (its keys saved first), a sealed one
// unsealed. It returns the keys.
func (m *Main) initOrUnseal(ctx context.Context, sys *vault.Sys) (vault.InitKeys, error) {
	st, err := sys.Status(ctx)
	if err != nil {
		return vault.InitKeys{}, fmt.Errorf("vault-setup: %w", err)
	}
	var keys vault.InitKeys
	if st.Initialized {
		keys, err = m.readInitFile()
	} else {
		keys, err = m.initVault(ctx, sys)
	}
	if err != nil {
		return keys, err
	}
	if !st.Sealed { // never so for a Vault just initialized
		fmt.Fprintln(m.Stdout, "Vault is initialized and unsealed")
		return keys, nil
	}
	if err := sys.Unseal(ctx, keys.UnsealKey); err != nil {
		return keys, fmt.Errorf("%w (is %s this Vault's init file?)", err, m.InitFile)
	}
	fmt.Fprintf(m.Stdout, "unsealed Vault with the key from %s\n", m.InitFile)
	return keys, nil
}

// initVault initializes Vault and saves its keys to the init file before
// anything uses them: a crash after that loses nothing.
func (m *Main) initVault(ctx context.Context, sys *vault.Sys) (vault.InitKeys, error) {
	addr, file := m.Config.VaultAddr, m.InitFile
	if _, err := os.Lstat(file); err == nil {
		return vault.InitKeys{}, fmt.Errorf("vault-setup: Vault at %s is not initialized, but %s exists: it holds the keys of another Vault, "+
			"or of this one before its storage was wiped; move it away if they are no longer needed, or set VAULT_ADDR to the Vault it belongs to", addr, file)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return vault.InitKeys{}, fmt.Errorf("vault-setup: -init-file: %w", err)
	}
	// Open the file first: if it cannot be written, Vault is still
	// untouched. After Init the keys exist only in memory until saved.
	p, err := createPending(file)
	if err != nil {
		return vault.InitKeys{}, fmt.Errorf("vault-setup: -init-file (Vault is not initialized yet): %w", err)
	}
	defer p.abort()
	keys, err := sys.Init(ctx)
	if err != nil {
		return keys, err
	}
	if err := p.commit(keys.MarshalFile()); err != nil {
		return vault.InitKeys{}, fmt.Errorf("vault-setup: Vault at %s is initialized, but its keys could not be saved to %s: %w; "+
			"it can never be unsealed again: stop it, wipe its storage and run vault-setup again", addr, file, err)
	}
	fmt.Fprintf(m.Stdout, "initialized Vault at %s with one unseal key share; saved the key and the root token to %s (0600): whoever can read it owns this Vault\n", addr, file)
	return keys, nil
}

// readInitFile reads the keys of an initialized Vault. Its errors say what
// is wrong with the file, never what it holds.
func (m *Main) readInitFile() (vault.InitKeys, error) {
	b, err := os.ReadFile(m.InitFile)
	if errors.Is(err, fs.ErrNotExist) {
		// Someone else initialized it, perhaps an attacker who raced the
		// first start: its keys are theirs. Never adopt such a Vault.
		return vault.InitKeys{}, fmt.Errorf("vault-setup: Vault at %s is already initialized, but %s does not exist: whoever initialized it holds its unseal key and root token, "+
			"so do not put a master key in it. If you did not initialize it yourself, remove its storage (docker compose down -v) and start again; "+
			"if you did, put its init file at %s", m.Config.VaultAddr, m.InitFile, m.InitFile)
	}
	if err != nil {
		return vault.InitKeys{}, fmt.Errorf("vault-setup: -init-file: %w", err)
	}
	keys, err := vault.ParseInitKeys(b)
	if err != nil {
		return keys, fmt.Errorf("vault-setup: -init-file %s is not an init file vault-setup wrote: %w", m.InitFile, err)
	}
	return keys, nil
}

// removeIfPresent removes the files that exist.
func removeIfPresent(paths ...string) error {
	for _, p := range paths {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("vault-setup: %w", err)
		}
	}
	return nil
}
