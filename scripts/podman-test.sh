#!/usr/bin/env bash
# `make test-docker`: build docker/Dockerfile and a PostGIS image under podman, run them,
# and smoke-test the app through its port (sign-in, photo, push, pull: scripts/smoke.py).
#
# No container registry is reachable here, so the base image is a Debian 12 made by
# debootstrap (the base system of scripts/fresh-debian-test.sh, `podman import`ed) and
# passed to both builds as BASE_IMAGE. podman runs as root with its own configuration in
# var/podman (CONTAINERS_CONF: runtime runc, cgroupfs, no default ulimits, the host's
# network; CONTAINERS_STORAGE_CONF: vfs storage under var/podman). Nothing else on the
# machine is changed beyond installing podman and runc with apt.
#
# The app container starts BEFORE its database, so the entrypoint's bounded wait is
# exercised too; and a container pointed at a database that never answers must end
# with one line, not a stack trace.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "podman-test: $*" >&2; }
[ "$(id -u)" = 0 ] || { log "run as root"; exit 1; }
if ! command -v podman >/dev/null || ! command -v runc >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  python3 scripts/preflight.py fetch apt -- apt-get update -qq
  python3 scripts/preflight.py fetch apt -- apt-get install -y -qq --no-install-recommends podman runc
fi

state=$PWD/var/podman
mkdir -p "$state"
cat > "$state/containers.conf" <<CONF
[containers]
default_ulimits = []
netns = "host"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
cat > "$state/storage.conf" <<CONF
[storage]
driver = "vfs"
graphroot = "$state/storage"
runroot = "$state/run"
CONF
export CONTAINERS_CONF=$state/containers.conf CONTAINERS_STORAGE_CONF=$state/storage.conf

base=localhost/gridpatrol-debian:12
if ! podman image exists "$base"; then
  scripts/fresh-debian-test.sh --base-only
  log "podman import var/fresh/base as $base"
  tar -C var/fresh/base -c . | podman import --change 'CMD ["/bin/bash"]' - "$base" >/dev/null
fi
# Behind an inspecting HTTPS proxy, the builds need the host's local CAs, as every machine
# of that network does (see scripts/fresh-debian-test.sh); a layer on top adds them.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  ctx=$(mktemp -d); cp /usr/local/share/ca-certificates/*.crt "$ctx/"
  cat > "$ctx/Containerfile" <<CONF
FROM $base
COPY *.crt /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
CONF
  podman build -q --network host -t localhost/gridpatrol-debian-localca:12 "$ctx" >/dev/null
  rm -rf "$ctx"
  base=localhost/gridpatrol-debian-localca:12
  log "base image $base (the host's local CAs trusted)"
fi

start=$(date +%s)
log "building localhost/gridpatrol-postgis:test"
podman build -q --network host --build-arg BASE_IMAGE="$base" \
  -f docker/postgis/Containerfile -t localhost/gridpatrol-postgis:test docker/postgis >/dev/null
log "building localhost/gridpatrol:test from docker/Dockerfile (BASE_IMAGE=$base)"
podman build --format docker --network host --build-arg BASE_IMAGE="$base" \
  -f docker/Dockerfile -t localhost/gridpatrol:test . > "$state/build.log" 2>&1 \
  || { tail -30 "$state/build.log"; log "the build failed; see var/podman/build.log"; exit 1; }
log "images built in $(( $(date +%s) - start )) s"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
db_port=$(free_port); app_port=$(free_port)
password=$(python3 -c 'import secrets; print(secrets.token_hex(12))')
app=gp-app-$$; db=gp-db-$$
cleanup() { podman rm -f -t 5 "$app" "$db" >/dev/null 2>&1 || true; }
trap cleanup EXIT
url="postgresql+psycopg://gridpatrol:$password@127.0.0.1:$db_port/gridpatrol"

# 1. A database that never answers: one line, exit 1, no traceback.
out=$(podman run --rm --no-healthcheck -e DATABASE_URL="postgresql+psycopg://gridpatrol:$password@127.0.0.1:1/gridpatrol" \
  -e DB_WAIT_SECONDS=2 localhost/gridpatrol:test true 2>&1) && { log "expected a failure"; exit 1; }
echo "$out" | sed 's/^/  | /'
if grep -q Traceback <<<"$out" || ! grep -q "did not accept connections within 2 s" <<<"$out"; then
  log "the unreachable database did not give the one-line message"; exit 1
fi
if grep -q "$password" <<<"$out"; then log "the password was printed"; exit 1; fi

# 2. The app first, its database 5 s later: the entrypoint waits, migrates, loads the demo.
podman run -d --name "$app" --no-healthcheck -e DATABASE_URL="$url" -e SECRET_KEY=podman-test \
  -e PORT="$app_port" -e WORKERS=2 -e GRIDPATROL_DEMO=1 localhost/gridpatrol:test >/dev/null
sleep 5
podman run -d --name "$db" -e POSTGRES_PASSWORD="$password" -e PGPORT="$db_port" \
  -e LISTEN_ADDRESSES=127.0.0.1 localhost/gridpatrol-postgis:test >/dev/null
for i in $(seq 180); do
  curl -fsS "http://127.0.0.1:$app_port/api/v1/meta" >/dev/null 2>&1 && break
  [ "$(podman inspect -f '{{.State.Running}}' "$app")" = true ] || break
  [ "$i" -lt 180 ] || break
  sleep 1
done
logs=$(podman logs "$app" 2>&1)  # whole, not piped into grep -q (pipefail + SIGPIPE)
echo "$logs" | grep -E "^(entrypoint):|Running upgrade|Listening at" | sed 's/^/  app | /'
grep -q "entrypoint: waiting for the database" <<<"$logs" || { log "the app did not wait for its database"; exit 1; }
python3 scripts/smoke.py "http://127.0.0.1:$app_port"
# The image's HEALTHCHECK command, run by hand (podman needs systemd to schedule it).
health=$(podman image inspect localhost/gridpatrol:test \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["Healthcheck"]["Test"][1])')
podman exec "$app" sh -c "$health" || { log "the HEALTHCHECK command failed: $health"; exit 1; }
log "HEALTHCHECK command: ok"
[ "$(podman exec "$app" id -un)" = gridpatrol ] || { log "the app runs as $(podman exec "$app" id -un)"; exit 1; }
log "the app runs as gridpatrol, not root"
log "OK in $(( $(date +%s) - start )) s"
