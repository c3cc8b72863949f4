#!/usr/bin/env bash
# The Compose stack on a machine like CI's: no image registry, maybe no
# Docker engine running.
#
#   ./scripts/stack-local.sh up     build the stand-in images and the app, start the stack
#   ./scripts/stack-local.sh down   remove the stack and its volumes (and the engine, if this script started it)
#   ./scripts/stack-local.sh compose ARGS...   docker-compose on the stack (ps, logs app, restart app, ...)
#
# `up` starts its own dockerd when none answers (socket and data root under
# the cache dir), builds local stand-ins for the registry images
# (internal/testserver/cmd/standins) and runs compose.yaml with
# deploy/compose.standins.yaml, which changes image names only. It ends with
# four lines a test can read:
#   STRONGROOM_URL=  MAILPIT_URL=  DOCKER_HOST=  JWT_SECRET_FILE=
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

export GOTOOLCHAIN="${GOTOOLCHAIN_OVERRIDE:-go1.27.3}"
cache="${STRONGROOM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/strongroom}"
stack="$cache/stack"
project="${STRONGROOM_STACK_PROJECT:-strongroom-local}"
mkdir -p "$stack"
# The stack's ports and secret files; one per project, so several stacks can
# share the engine (STRONGROOM_STACK_PROJECT names them).
envfile="$stack/$project.env"
# Its secrets, made at the first up and removed by down.
secrets="$stack/$project-secrets"
log() { printf 'stack-local: %s\n' "$*" >&2; }

sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
need_debian() { # command package...
	command -v "$1" >/dev/null && return 0
	shift
	log "installing $* from Debian"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get install -y -q "$@" >/dev/null 2>&1 || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q "$@" >/dev/null; }
}

# engine: use the one DOCKER_HOST (or the default socket) names if it
# answers; otherwise start our own and remember that we did.
engine() {
	need_debian dockerd docker.io
	need_debian docker-compose docker-compose
	if [ -z "${DOCKER_HOST:-}" ] && [ -f "$stack/dockerd.pid" ] && kill -0 "$(cat "$stack/dockerd.pid")" 2>/dev/null; then
		export DOCKER_HOST="unix://$stack/docker.sock"
	fi
	if timeout 10 docker info >/dev/null 2>&1; then
		export DOCKER_HOST="${DOCKER_HOST:-unix:///var/run/docker.sock}"
		return
	fi
	[ -n "${DOCKER_HOST:-}" ] && [ "$DOCKER_HOST" != "unix://$stack/docker.sock" ] && { log "DOCKER_HOST=$DOCKER_HOST does not answer"; exit 1; }
	log "starting dockerd (data under $stack/docker)"
	mkdir -p "$stack/docker"
	$sudo dockerd --data-root "$stack/docker/root" --exec-root "$stack/docker/exec" \
		-H "unix://$stack/docker.sock" --pidfile "$stack/dockerd.pid" \
		>"$stack/dockerd.log" 2>&1 &
	export DOCKER_HOST="unix://$stack/docker.sock"
	for _ in $(seq 60); do
		docker info >/dev/null 2>&1 && return
		sleep 1
	done
	log "dockerd did not start; its log:"; tail -20 "$stack/dockerd.log" >&2; exit 1
}

free_port() { # a port nothing on 127.0.0.1 answers on
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}

compose() {
	docker-compose -p "$project" --env-file "$envfile" \
		-f "$root/compose.yaml" -f "$root/deploy/compose.standins.yaml" "$@"
}

up() {
	engine
	need_debian busybox busybox-static
	log "stand-in images"
	go run ./internal/testserver/cmd/standins >&2

	# The stack's own secrets, readable by the app's user (65532) through
	# the bind mount, in a directory only we can enter.
	mkdir -p "$secrets" && chmod 0700 "$secrets"
	for s in jwt_secret pepper mongo_password; do
		[ -s "$secrets/$s" ] || head -c 32 /dev/urandom | base64 >"$secrets/$s"
		chmod 0644 "$secrets/$s"
	done
	if [ ! -f "$envfile" ]; then
		cat >"$envfile" <<ENV
STRONGROOM_PORT=$(free_port)
MAILPIT_PORT=$(free_port)
VAULT_PORT=$(free_port)
JWT_SECRET_FILE=$secrets/jwt_secret
PEPPER_FILE=$secrets/pepper
MONGO_PASSWORD_FILE=$secrets/mongo_password
ENV
	fi
	# shellcheck disable=SC1091
	. "$envfile"

	log "docker-compose up"
	COMPOSE_DOCKER_CLI_BUILD=0 DOCKER_BUILDKIT=0 compose up -d --build >&2
	local url="http://127.0.0.1:$STRONGROOM_PORT"
	for _ in $(seq 120); do
		curl -fsS "$url/readyz" >/dev/null 2>&1 && break
		sleep 1
	done
	curl -fsS "$url/readyz" >/dev/null || { compose ps >&2; compose logs --tail 30 >&2; log "the API is not ready"; exit 1; }
	echo "STRONGROOM_URL=$url"
	echo "MAILPIT_URL=http://127.0.0.1:$MAILPIT_PORT"
	echo "DOCKER_HOST=$DOCKER_HOST"
	echo "JWT_SECRET_FILE=$secrets/jwt_secret"
}

down() {
	if [ -z "${DOCKER_HOST:-}" ] && [ -f "$stack/dockerd.pid" ]; then
		export DOCKER_HOST="unix://$stack/docker.sock"
	fi
	if [ -f "$envfile" ] && timeout 10 docker info >/dev/null 2>&1; then
		compose down -v --remove-orphans >&2 || true
	fi
	rm -f "$envfile"
	rm -rf "$secrets"
	if ls "$stack"/*.env >/dev/null 2>&1; then
		log "other stacks are up on the engine ($(cd "$stack" && ls ./*.env)): leaving it running"
		return
	fi
	if [ -f "$stack/dockerd.pid" ]; then
		local pid
		pid=$(cat "$stack/dockerd.pid")
		log "stopping the dockerd this script started"
		$sudo kill "$pid" 2>/dev/null || true
		for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
		rm -f "$stack/dockerd.pid"
	fi
}

case "${1:-}" in
up) up ;;
down) down ;;
compose) # run docker-compose on the stack: ./scripts/stack-local.sh compose ps
	shift
	[ -f "$envfile" ] || { log "no stack is up"; exit 1; }
	if [ -z "${DOCKER_HOST:-}" ] && [ -f "$stack/dockerd.pid" ]; then export DOCKER_HOST="unix://$stack/docker.sock"; fi
	compose "$@" ;;
*) echo "usage: $0 up|down|compose ARGS..." >&2; exit 2 ;;
esac
