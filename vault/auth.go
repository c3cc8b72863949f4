package vault

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// login sets the client's token (the configured one, or one from an
// AppRole login) and returns its TTL and whether it can be renewed.
func (k *KMS) login(ctx context.Context) (time.Duration, bool, error) {
	ctx, cancel := k.withTimeout(ctx)
	defer cancel()
	if k.cfg.RoleID != "" {
		s, err := k.client.Logical().WriteWithContext(ctx, "auth/"+k.cfg.AppRoleMount+"/login", map[string]any{
			"role_id": k.cfg.RoleID, "secret_id": k.cfg.SecretID,
		})
		if err != nil {
			return 0, false, fmt.Errorf("vault: AppRole login: %w", mapErr("log in", err))
		}
		if s == nil || s.Auth == nil || s.Auth.ClientToken == "" {
			return 0, false, errors.New("vault: AppRole login returned no token")
		}
		k.client.SetToken(s.Auth.ClientToken)
		return time.Duration(s.Auth.LeaseDuration) * time.Second, s.Auth.Renewable, nil
	}
	k.client.SetToken(k.cfg.Token)
	s, err := k.client.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		return 0, false, fmt.Errorf("vault: token lookup: %w", mapErr("look up its token", err))
	}
	ttl, _ := s.TokenTTL()
	renewable, _ := s.TokenIsRenewable()
	return ttl, renewable, nil
}

// renew keeps the token alive: it renews at two thirds of the TTL, and
// with AppRole logs in again when the token cannot be renewed any more.
// A token without TTL (root, or periodic with none) needs nothing.
func (k *KMS) renew(ttl time.Duration, renewable bool) {
	defer k.done.Done()
	for {
		if ttl <= 0 {
			return
		}
		wait := ttl * 2 / 3
		select {
		case <-k.stop:
			return
		case <-time.After(wait):
		}
		next, ok, err := k.renewOnce(renewable)
		if err != nil {
			k.log.Error("vault token renewal failed; retrying", "err", err)
			next, ok = 10*time.Second, renewable
		}
		ttl, renewable = next, ok
	}
}

func (k *KMS) renewOnce(renewable bool) (time.Duration, bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), k.cfg.Timeout)
	defer cancel()
	if renewable {
		s, err := k.client.Auth().Token().RenewSelfWithContext(ctx, 0)
		// A lease cut short by the token's max TTL is not worth renewing
		// again: with AppRole, log in afresh instead.
		if err == nil && s != nil && s.Auth != nil && (s.Auth.LeaseDuration >= 30 || k.cfg.RoleID == "") && s.Auth.LeaseDuration > 0 {
			k.log.Info("vault token renewed", "ttl_s", s.Auth.LeaseDuration)
			return time.Duration(s.Auth.LeaseDuration) * time.Second, s.Auth.Renewable, nil
		}
		if err != nil && k.cfg.RoleID == "" {
			return 0, false, mapErr("renew its token", err)
		}
	}
	if k.cfg.RoleID == "" {
		k.log.Warn("the vault token cannot be renewed and will expire; use AppRole or a renewable token")
		return 0, false, nil
	}
	ttl, ok, err := k.login(context.Background())
	if err == nil {
		k.log.Info("logged in to vault again with AppRole", "ttl_s", int(ttl.Seconds()))
	}
	return ttl, ok, err
}
