// Command vault is HashiCorp Vault, built from its Go module for
// Strongroom's tests: a real Vault server for the Vault key manager (run as
// "vault server -dev", and with file storage as testserver.VaultNode), also
// in the Compose stack's stand-in image, because no Vault package exists in
// this project's registries. github.com/hashicorp/vault v1.21.0 compiles with
// github.com/hashicorp/vault/sdk v0.20.0 (newer pairs do not), and its
// Transit engine does batch rewrap.
//
// internal/testserver builds it as Vault's own "minimal" variant (build
// tag minimal, what Vault's BUILD_MINIMAL=1 makes), patched by _overlay/,
// so that it compiles about 1 400 packages instead of 2 590. It keeps the
// whole CLI (server, status, version, operator init/unseal, ...); storage
// inmem, raft and file (file added back by _overlay); the secrets engines
// kv, transit, pki, ssh and database (without database plugins), besides
// cubbyhole, identity and sys; auth token, approle, userpass, cert and
// jwt/oidc; audit devices; and the seals. It lacks the other secrets
// engines, auth methods and storage backends (clouds, LDAP, databases...),
// raft's cloud auto_join (an explicit leader address still joins), cloud
// and kerberos auto-auth in "vault agent", Okta MFA, and the web UI's
// assets (ui = true is accepted, as in any build without the ui tag).
package main

import (
	"os"

	"github.com/hashicorp/vault/command"
)

func main() {
	os.Exit(command.Run(os.Args[1:]))
}
