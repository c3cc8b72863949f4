package vault

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// Policy names written by Setup.
const (
	ServicePolicy  = "strongroom-service"
	OperatorPolicy = "strongroom-operator"
	AppRoleName    = "strongroom"
)

// ServicePolicyHCL lets the server use the one key: encrypt, decrypt and
// rewrap. It cannot read, export, back up, rotate or reconfigure the key.
func ServicePolicyHCL(mount, key string) string {
	return fmt.Sprintf(`# Strongroom server: use the master key, nothing else.
path "%[1]s/encrypt/%[2]s" { capabilities = ["update"] }
path "%[1]s/decrypt/%[2]s" { capabilities = ["update"] }
path "%[1]s/rewrap/%[2]s" { capabilities = ["update"] }
`, mount, key)
}

// OperatorPolicyHCL lets an operator rotate the key and retire old
// versions (and read the key's metadata, never its material). Of the key's
// settings it may change only min_decryption_version: "exportable",
// "allow_plaintext_backup" and "deletion_allowed" can never be turned off
// again once on, so a leaked operator credential must not reach them.
func OperatorPolicyHCL(mount, key string) string {
	return fmt.Sprintf(`# Strongroom operator: rotate the master key and retire old versions.
path "%[1]s/keys/%[2]s/rotate" { capabilities = ["update"] }
path "%[1]s/keys/%[2]s/config" {
  capabilities = ["update"]
  allowed_parameters = { "min_decryption_version" = [] }
}
path "%[1]s/keys/%[2]s" { capabilities = ["read"] }
`, mount, key)
}

// SetupResult says what Setup did.
type SetupResult struct {
	Done     []string // one line per step
	RoleID   string   // with AppRole
	SecretID string   // with AppRole: the secret id to hand to the server
}

// SetupOptions says what Setup does beyond the engine, key and policies.
type SetupOptions struct {
	AppRole bool // enable AppRole and a role for the server
	// Operator gives the role the operator policy too, so the server may
	// rotate the master key (POST /rotate-master-key).
	Operator bool
	// SecretID, when Vault still accepts it for the role, is kept instead
	// of a new one being made (see setupAppRole).
	SecretID string
}

// Setup is SetupWith with only the AppRole option.
func Setup(ctx context.Context, cfg Config, appRole bool) (SetupResult, error) {
	return SetupWith(ctx, cfg, SetupOptions{AppRole: appRole})
}

// SetupWith prepares Vault for Strongroom with a privileged token (cfg.Token):
// it enables Transit at cfg.Mount if absent, creates the key if absent
// (aes256-gcm96, derived so each user's id is its context, not exportable,
// no plaintext backup), writes the service and operator policies, and with
// opts.AppRole enables AppRole and a role bound to the service policy (and
// the operator policy with opts.Operator). Running it again changes nothing
// that is already right.
func SetupWith(ctx context.Context, cfg Config, opts SetupOptions) (SetupResult, error) {
	var res SetupResult
	if cfg.Mount == "" {
		cfg.Mount = DefaultMount
	}
	if cfg.Key == "" {
		cfg.Key = DefaultKey
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Token == "" {
		return res, errors.New("vault setup: needs VAULT_TOKEN with the rights to mount engines and write policies")
	}
	client, err := newClient(cfg, new(atomic.Int64))
	if err != nil {
		return res, err
	}
	client.SetToken(cfg.Token)
	sys := client.Sys()

	mounts, err := sys.ListMountsWithContext(ctx)
	if err != nil {
		return res, fmt.Errorf("vault setup: list mounts: %w", err)
	}
	if m, ok := mounts[cfg.Mount+"/"]; ok {
		if m.Type != "transit" {
			return res, fmt.Errorf("vault setup: %s/ is a %s engine, not transit", cfg.Mount, m.Type)
		}
		res.Done = append(res.Done, "transit engine already at "+cfg.Mount+"/")
	} else {
		if err := sys.MountWithContext(ctx, cfg.Mount, &vaultapi.MountInput{Type: "transit"}); err != nil {
			return res, fmt.Errorf("vault setup: enable transit: %w", err)
		}
		res.Done = append(res.Done, "enabled the transit engine at "+cfg.Mount+"/")
	}

	keyPath := cfg.Mount + "/keys/" + cfg.Key
	s, err := client.Logical().ReadWithContext(ctx, keyPath)
	if err != nil {
		return res, fmt.Errorf("vault setup: read key: %w", err)
	}
	if s == nil {
		if _, err := client.Logical().WriteWithContext(ctx, keyPath, map[string]any{
			"type": "aes256-gcm96", "derived": true, "exportable": false, "allow_plaintext_backup": false,
		}); err != nil {
			return res, fmt.Errorf("vault setup: create key: %w", err)
		}
		res.Done = append(res.Done, "created key "+keyPath+" (aes256-gcm96, derived, not exportable, no plaintext backup)")
	} else {
		derived, _ := s.Data["derived"].(bool)
		exportable, _ := s.Data["exportable"].(bool)
		backup, _ := s.Data["allow_plaintext_backup"].(bool)
		if !derived || exportable || backup {
			return res, fmt.Errorf("vault setup: key %s exists but is not derived, non-exportable and without plaintext backup: fix or rename it (VAULT_TRANSIT_KEY)", keyPath)
		}
		res.Done = append(res.Done, "key "+keyPath+" already exists, derived and not exportable")
	}

	for name, hcl := range map[string]string{
		ServicePolicy:  ServicePolicyHCL(cfg.Mount, cfg.Key),
		OperatorPolicy: OperatorPolicyHCL(cfg.Mount, cfg.Key),
	} {
		if err := sys.PutPolicyWithContext(ctx, name, hcl); err != nil {
			return res, fmt.Errorf("vault setup: write policy %s: %w", name, err)
		}
		res.Done = append(res.Done, "wrote policy "+name)
	}

	if !opts.AppRole {
		return res, nil
	}
	return setupAppRole(ctx, client, opts, res)
}
