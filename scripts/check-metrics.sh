#!/usr/bin/env bash
# Starts the server with STRONGROOM_METRICS_ADDR, makes a few requests so
# that labelled series exist, scrapes its /metrics over HTTP and has
# promtool check it (Prometheus' own lint: names, units, _total counters,
# help text). Called by scripts/test.sh, which installs promtool; a missing
# promtool fails here.
#   ./scripts/check-metrics.sh [PROMTOOL]
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN="${GOTOOLCHAIN_OVERRIDE:-go1.27.3}"
promtool="${1:-promtool}"
command -v "$promtool" >/dev/null || { echo "promtool not found (Debian's prometheus package)"; exit 1; }
command -v curl >/dev/null || { echo "curl not found"; exit 1; }

dir=$(mktemp -d)
pid=""
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$dir"
}
trap cleanup EXIT
go build -o "$dir/strongroom" ./cmd/strongroom
mkdir "$dir/run"
# From an empty directory, so that no .env of the clone is read; on free
# loopback ports, which the log names.
(cd "$dir/run" && exec env STRONGROOM_DATA_DIR="$dir/data" STRONGROOM_ADDR=127.0.0.1:0 \
	STRONGROOM_METRICS_ADDR=127.0.0.1:0 STRONGROOM_BCRYPT_COST=10 "$dir/strongroom" serve) 2>"$dir/log" &
pid=$!
addr_of() { sed -n 's/.*"msg":"'"$1"'".*"addr":"\([^"]*\)".*/\1/p' "$dir/log" | head -1; }
for _ in $(seq 100); do
	api=$(addr_of "strongroom serving"); metrics=$(addr_of "metrics server (Prometheus)")
	[ -n "$api" ] && [ -n "$metrics" ] && break
	kill -0 "$pid" 2>/dev/null || { cat "$dir/log"; echo "the server stopped"; exit 1; }
	sleep 0.1
done
[ -n "$api" ] && [ -n "$metrics" ] || { cat "$dir/log"; echo "the server did not start"; exit 1; }

post() { curl -s -o /dev/null -H 'Content-Type: application/json' "http://$api$1" -d "$2"; }
post /register '{"username":"promcheck","email":"promcheck@example.com","password":"StrongP@ssw0rd1!"}'
post /login '{"username":"promcheck","password":"StrongP@ssw0rd1!"}'
post /login '{"username":"promcheck","password":"Wr0ng-password"}'
curl -s -o /dev/null "http://$api/no-such-route"

curl -fsS "http://$metrics/metrics" >"$dir/metrics.txt"
grep -q '^strongroom_http_requests_total{' "$dir/metrics.txt" || { echo "the scrape has no strongroom_http_requests_total"; exit 1; }
"$promtool" check metrics <"$dir/metrics.txt"
echo "promtool check metrics: $(grep -c '^[a-z]' "$dir/metrics.txt") samples, no problems"
