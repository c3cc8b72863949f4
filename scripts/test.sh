#!/usr/bin/env bash
# The project's test command: everything CI runs, in order of speed.
#   ./scripts/test.sh           format, vet, race tests, short fuzzing, govulncheck
# Heavy tools are built once and cached outside the clone, in
# ${STRONGROOM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/strongroom}.
set -euo pipefail
cd "$(dirname "$0")/.."

# The patched Go toolchain, fetched through the module proxy (about 76 MB,
# once per machine): Go 1.26.8's standard library has known vulnerabilities
# that govulncheck reports; Go 1.27.3 has them fixed.
export GOTOOLCHAIN="${GOTOOLCHAIN_OVERRIDE:-go1.27.3}"
export STRONGROOM_CACHE="${STRONGROOM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/strongroom}"
cache="$STRONGROOM_CACHE"
mkdir -p "$cache"
step() { printf "\n== %s  (%ds)\n" "$*" "$SECONDS"; }

step "go version"
go version

step "tools from Debian"
sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
# oathtool computes TOTP codes independently of Strongroom's own code.
if ! command -v oathtool >/dev/null; then
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get install -y -q oathtool >/dev/null 2>&1 || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q oathtool >/dev/null; }
fi
oathtool --version | head -1
# zbarimg reads the QR code the web app shows, as a phone would (tools/browser).
if ! command -v zbarimg >/dev/null; then
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get install -y -q zbar-tools >/dev/null 2>&1 || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q zbar-tools >/dev/null; }
fi
# Chromium runs the web app's browser tests (tools/browser), headless.
if ! command -v chromium >/dev/null; then
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get install -y -q chromium >/dev/null 2>&1 || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q chromium >/dev/null; }
fi
chromium --version 2>/dev/null | head -1
# promtool (Debian's prometheus package) checks the server's /metrics. Only
# the one binary is needed: it is taken out of the package into the cache,
# rather than installing the package, whose Prometheus server would start.
promtool=$(command -v promtool || echo "$cache/promtool/usr/bin/promtool")
if [ ! -x "$promtool" ]; then
	rm -rf "$cache/promtool" "$cache/promtool-deb" && mkdir -p "$cache/promtool-deb"
	(cd "$cache/promtool-deb" && { apt-get download -q prometheus >/dev/null 2>&1 || { $sudo apt-get update -q >/dev/null && apt-get download -q prometheus >/dev/null; }; })
	mkdir -p "$cache/promtool"
	dpkg-deb --fsys-tarfile "$cache"/promtool-deb/prometheus_*.deb | tar -x -C "$cache/promtool" ./usr/bin/promtool
	rm -rf "$cache/promtool-deb"
fi
"$promtool" --version 2>&1 | head -1

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './tools/*'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

step "go vet"
go vet ./...

step "test servers (built once into the cache)"
# The MongoDB-protocol server (FerretDB, tools/ferretdb) and Vault
# (tools/vault, Vault's minimal variant: about 6 minutes of compiling on two
# cores the first time)
# are built here, not inside a test's time budget; the tests find them in
# the cache.
go run ./internal/testserver/cmd/buildtools

step "the Compose stack on a real Docker engine (tools/stack), in the background"
# stack-local.sh starts a dockerd of its own when none answers (and stops it
# at the end), builds local stand-ins for the registry images (cached in the
# engine, whose data root is under the cache dir) and the app's image from
# the Dockerfile; the test brings compose.yaml up, runs the Postman
# collection with newman and its own checks, and takes everything down.
# It mostly waits on containers, so it runs beside the Go tests; its output
# goes to a log, shown when it is done. A failing run still waits for it, so
# it always takes down what it started.
stacklog="$cache/stack-test.log"
(cd tools/stack && go vet ./... && go test -count=1 -v -timeout 40m ./...) >"$stacklog" 2>&1 &
stackpid=$!
trap 'wait "$stackpid" 2>/dev/null || true' EXIT
echo "log: $stacklog"

step "go test -race"
# Most of cmd/strongroom's tests run in parallel, and many of them wait on
# servers and child processes: 4 at a time (the default is GOMAXPROCS, so
# 2 on two cores) keeps two cores busier and the run shorter; 8 and 16
# cost more CPU than they saved.
# The cluster tests (TestCluster*: three server processes each, on one
# FerretDB and one Vault) run in the next step, without the race detector.
go test -race -count=1 -parallel 4 -timeout 30m -skip '^TestCluster' ./...

step "the cluster tests: 3 server processes on one store and one Vault"
# Each test's servers are child processes of the test binary; built with
# -race, they took 18 processes' worth of race detection for what these
# tests prove (what happens once across servers), and the race step above
# covers the same code in-process.
go test -count=1 -parallel 4 -timeout 15m -run '^TestCluster' ./cmd/strongroom

step "a client generated from the OpenAPI document (tools/apitest)"
# oapi-codegen reads the document the server serves (3.0 form) and the
# generated client walks through the API against a live server: a document
# that generators cannot read, or that stops describing the server, fails here.
go run ./cmd/strongroom openapi -3.0 > "$cache/openapi-3.0.json"
(
	cd tools/apitest
	go tool oapi-codegen -generate types,client -package client -o client/client.gen.go "$cache/openapi-3.0.json"
	go vet ./...
	go test -count=1 ./...
)

step "the web app in a real browser (tools/browser)"
# Headless Chromium, driven with chromedp, signs up, signs in, adds, shows
# and deletes a record, and is refused a form posted from another site.
(
	cd tools/browser
	go vet ./...
	go test -count=1 ./...
)

step "the Compose stack: result"
if wait "$stackpid"; then
	grep -E '^(\s*--- |\s+stack_test\.go|ok|PASS)' "$stacklog"
else
	cat "$stacklog"; echo "the Compose stack test failed (log: $stacklog)"; exit 1
fi

step "promtool check metrics on a running server's /metrics"
./scripts/check-metrics.sh "$promtool"

step "fuzzing (10 s per target)"
for target in "./envelope FuzzOpenRecord" "./token FuzzVerify" "./cmd/strongroom FuzzRequestBodies"; do
	set -- $target
	go test "$1" -run '^$' -fuzz "^$2\$" -fuzztime 10s
done

step "benchmarks, briefly (they must keep working; no targets are asserted here)"
go test -run '^$' -bench . -benchtime 100x ./envelope ./token ./keycache ./metrics >/dev/null
go run ./cmd/strongroom-bench -short -out "$cache/bench-short.json"

step "govulncheck"
./scripts/vulncheck.sh "$cache"

printf "\nall checks passed in %ds\n" "$SECONDS"
