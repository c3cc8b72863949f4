package vault

import (
	"context"
	"fmt"
	"strings"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// setupAppRole enables AppRole if absent, writes the role and returns its
// role id and a secret id, appended to res.
//
// The secret id policy. A server reads its secret id once, at start, and
// logs in with it again whenever its token reaches the maximum TTL (24 h),
// so a secret id must stay valid as long as a server may run: the role's
// secret ids never expire and have no use limit (secret_id_ttl and
// secret_id_num_uses 0, written on every run so a run also puts back a
// role someone changed). Making a new secret id on every run would then
// leave one more credential that never expires per run: a bootstrap in a
// restart loop would leave hundreds. So a run keeps opts.SecretID (what
// the secret-id file already holds) when Vault still accepts it for this
// role, and makes a new one only when there is none (the first run, a lost
// volume) or it is no longer valid (the role was deleted, or an operator
// destroyed it to revoke it).
func setupAppRole(ctx context.Context, client *vaultapi.Client, opts SetupOptions, res SetupResult) (SetupResult, error) {
	sys := client.Sys()
	auths, err := sys.ListAuthWithContext(ctx)
	if err != nil {
		return res, fmt.Errorf("vault setup: list auth methods: %w", err)
	}
	if _, ok := auths["approle/"]; !ok {
		if err := sys.EnableAuthWithOptionsWithContext(ctx, "approle", &vaultapi.EnableAuthOptions{Type: "approle"}); err != nil {
			return res, fmt.Errorf("vault setup: enable approle: %w", err)
		}
		res.Done = append(res.Done, "enabled the approle auth method")
	}
	role := "auth/approle/role/" + AppRoleName
	policies := []string{ServicePolicy}
	if opts.Operator {
		policies = append(policies, OperatorPolicy)
	}
	if _, err := client.Logical().WriteWithContext(ctx, role, map[string]any{
		"token_policies": policies, "token_ttl": "1h", "token_max_ttl": "24h",
		"secret_id_ttl": 0, "secret_id_num_uses": 0,
	}); err != nil {
		return res, fmt.Errorf("vault setup: write role: %w", err)
	}
	s, err := client.Logical().ReadWithContext(ctx, role+"/role-id")
	if err != nil || s == nil {
		return res, fmt.Errorf("vault setup: read role id: %w", err)
	}
	res.RoleID, _ = s.Data["role_id"].(string)
	res.Done = append(res.Done, "wrote AppRole role "+AppRoleName+" (policies "+strings.Join(policies, ", ")+", token TTL 1h, max 24h)")

	if opts.SecretID != "" {
		ok, err := secretIDValid(ctx, client, role, opts.SecretID)
		if err != nil {
			return res, err
		}
		if ok {
			res.SecretID = opts.SecretID
			res.Done = append(res.Done, "kept the role's existing secret id: Vault still accepts it")
			return res, nil
		}
	}
	s, err = client.Logical().WriteWithContext(ctx, role+"/secret-id", nil)
	if err != nil || s == nil {
		return res, fmt.Errorf("vault setup: new secret id: %w", err)
	}
	res.SecretID, _ = s.Data["secret_id"].(string)
	res.Done = append(res.Done, "made a new secret id for the role")
	return res, nil
}

// secretIDValid reports whether Vault knows id as a secret id of role
// and it has not expired. Vault answers an unknown id with no data.
func secretIDValid(ctx context.Context, client *vaultapi.Client, role, id string) (bool, error) {
	s, err := client.Logical().WriteWithContext(ctx, role+"/secret-id/lookup", map[string]any{"secret_id": id})
	if err != nil {
		return false, fmt.Errorf("vault setup: look up the existing secret id: %w", err)
	}
	if s == nil || s.Data == nil {
		return false, nil
	}
	// Expired ids linger until Vault's tidy removes them.
	exp, _ := s.Data["expiration_time"].(string)
	if t, err := time.Parse(time.RFC3339Nano, exp); err == nil && !t.IsZero() && t.Before(time.Now()) {
		return false, nil
	}
	return true, nil
}
