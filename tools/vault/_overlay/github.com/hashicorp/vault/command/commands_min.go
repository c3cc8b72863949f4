// Copyright IBM Corp. 2016, 2025
// SPDX-License-Identifier: BUSL-1.1

// Strongroom overlay, replacing command/commands_min.go of
// github.com/hashicorp/vault v1.21.0 (sha256:8c5fd1b928ab4b00244ee7dfff8b3fafd46ad2ec223d68c596fc77e4396869ec).
// Vault's own "minimal" build (the minimal tag) keeps only the in-memory
// and raft storage; this adds back the "file" storage backend, which the
// full build registers in commands_full.go, for a Vault that keeps its data
// in a directory (storage "file" in a server config).

//go:build minimal

package command

import (
	_ "github.com/hashicorp/vault/helper/builtinplugins"
	physFile "github.com/hashicorp/vault/sdk/physical/file"
)

func extendAddonHandlers(handlers *vaultHandlers) {
	handlers.physicalBackends["file_transactional"] = physFile.NewTransactionalFileBackend
	handlers.physicalBackends["file"] = physFile.NewFileBackend
}
