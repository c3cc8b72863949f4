//go:build tools

// Package tools pins the vulnerability checker and the Go vulnerability
// database, both fetched through the Go module proxy: this machine cannot
// reach vuln.go.dev, so the database is indexed locally from the vulndb
// module's OSV files and govulncheck reads it with -db file://.
package tools

import (
	_ "golang.org/x/vuln/cmd/govulncheck"
	_ "golang.org/x/vulndb/cmd/indexdb"
)
