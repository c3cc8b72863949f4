#!/usr/bin/env bash
# govulncheck against a local copy of the Go vulnerability database. This
# machine cannot reach vuln.go.dev, but the database's OSV files come as the
# Go module golang.org/x/vulndb through the module proxy: they are indexed
# into the cache once per pinned version (tools/vulncheck/go.sum).
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${1:-${STRONGROOM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/strongroom}}"
key=$( (cat tools/vulncheck/go.sum; go env GOVERSION) | sha256sum | cut -c1-16)
dir="$cache/vulncheck-$key"
if [ ! -x "$dir/govulncheck" ] || [ ! -f "$dir/db/index/db.json" ]; then
	rm -rf "$dir" && mkdir -p "$dir"
	(
		cd tools/vulncheck
		go build -o "$dir/govulncheck" golang.org/x/vuln/cmd/govulncheck
		go build -o "$dir/indexdb" golang.org/x/vulndb/cmd/indexdb
		"$dir/indexdb" -vulns "$(go list -m -f '{{.Dir}}' golang.org/x/vulndb)/data/osv" -out "$dir/db.tmp"
	)
	mv "$dir/db.tmp" "$dir/db"
fi
"$dir/govulncheck" -db "file://$dir/db" ./...
