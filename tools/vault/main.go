// Command vault is HashiCorp Vault, built from its Go module for
// Strongroom's tests: a real Vault server (run as "vault server -dev") for
// the Vault key manager, because no Vault package exists in this project's
// registries. github.com/hashicorp/vault v1.21.0 compiles with
// github.com/hashicorp/vault/sdk v0.20.0 (newer pairs do not), and its
// Transit engine does batch rewrap.
package main

import (
	"os"

	"github.com/hashicorp/vault/command"
)

func main() {
	os.Exit(command.Run(os.Args[1:]))
}
