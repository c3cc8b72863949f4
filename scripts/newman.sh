#!/usr/bin/env bash
# Runs the Postman collection (postman/) with newman against a running
# Strongroom and the Mailpit its mail goes to:
#
#   scripts/newman.sh [BASE_URL [MAILPIT_URL]] [newman options...]
#
# BASE_URL defaults to http://localhost:8000 and MAILPIT_URL to
# http://localhost:8025. Further arguments go to "newman run", for example
# --env-var expectAdmin=false for a store that had accounts before.
#
# newman, at the version tools/newman/package-lock.json pins, is installed
# once with "npm ci" into $STRONGROOM_CACHE (default ~/.cache/strongroom), in
# a directory named after a hash of the lock file, outside the clone. The
# exit status is newman's: non-zero when any test fails.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
base=http://localhost:8000
mailpit=http://localhost:8025
if [ $# -gt 0 ] && [[ $1 != -* ]]; then base=$1; shift; fi
if [ $# -gt 0 ] && [[ $1 != -* ]]; then mailpit=$1; shift; fi

cache=${STRONGROOM_CACHE:-$HOME/.cache/strongroom}
hash=$(cat "$root/tools/newman/package.json" "$root/tools/newman/package-lock.json" | sha256sum | cut -c1-16)
dir=$cache/newman-$hash

if [ ! -x "$dir/node_modules/.bin/newman" ]; then
	command -v npm >/dev/null || { echo "newman.sh: npm is needed (Node.js 16 or later) to install newman" >&2; exit 1; }
	echo "newman.sh: installing newman into $dir" >&2
	mkdir -p "$cache"
	tmp=$(mktemp -d "$cache/newman-install.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	cp "$root/tools/newman/package.json" "$root/tools/newman/package-lock.json" "$tmp/"
	(cd "$tmp" && npm ci --no-audit --no-fund --loglevel=error >&2)
	# Another run may have installed it meanwhile; either copy will do.
	mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp"
	trap - EXIT
fi

exec "$dir/node_modules/.bin/newman" run \
	"$root/postman/strongroom.postman_collection.json" \
	-e "$root/postman/strongroom.postman_environment.json" \
	--env-var "baseUrl=$base" --env-var "mailpitUrl=$mailpit" \
	--bail "$@"
