#!/usr/bin/env bash
# Print a server-level PostgreSQL URL (no database name) where PostGIS can be created.
#
# Uses the server on 127.0.0.1:5432 when one answers; otherwise initialises and starts a
# private cluster under ./var/pg on port 5433. Installs PostgreSQL and PostGIS with apt
# when they are missing (as root, on Debian).
#
# PG_PRIVATE=1 skips 5432 and always uses the private cluster; PG_PRIVATE_PORT moves it
# off 5433 (scripts/fresh-debian-test.sh uses both: its chroot shares the host's network,
# so the host's server on 5432 would otherwise stand in for the one a new machine makes).
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "provision-db: $*" >&2; }
private_port=${PG_PRIVATE_PORT:-5433}

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    log "missing packages: $*; install them (as root: apt-get install -y $*)"; exit 1
  fi
  log "installing $*"
  export DEBIAN_FRONTEND=noninteractive
  python3 scripts/preflight.py fetch apt -- apt-get update -qq >&2
  python3 scripts/preflight.py fetch apt -- apt-get install -y -qq "$@" >&2
}

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$pg_bin" ]; then
  apt_install postgresql-15 postgresql-15-postgis-3
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
pg_major=$(basename "$(dirname "$pg_bin")")
if ! ls /usr/share/postgresql/"$pg_major"/extension/postgis.control >/dev/null 2>&1; then
  apt_install "postgresql-$pg_major-postgis-3"
fi

if [ "${PG_PRIVATE:-0}" != 1 ] && "$pg_bin/pg_isready" -q -h 127.0.0.1 -p 5432; then
  # Debian's own cluster asks for a password over TCP; only a trusting one will do.
  if PGCONNECT_TIMEOUT=5 "$pg_bin/psql" -w -Atq -h 127.0.0.1 -p 5432 -U postgres -d postgres \
      -c 'select 1' >/dev/null 2>&1; then
    echo "postgresql+psycopg://postgres@127.0.0.1:5432"
    exit 0
  fi
  log "127.0.0.1:5432 answers but does not trust postgres; using a private cluster"
fi

pg_dir="$PWD/var/pg"
as_pg=()
if [ "$(id -u)" = 0 ]; then
  as_pg=(runuser -u postgres --)
  # As root the cluster runs as postgres, which cannot enter a checkout under /root
  # (mode 0700 on Debian): then it lives under /var/lib/gridpatrol, one per checkout.
  if ! runuser -u postgres -- test -x "$PWD"; then
    pg_dir=/var/lib/gridpatrol/pg-$(printf %s "$PWD" | md5sum | cut -c1-8)
    log "postgres cannot enter $PWD; the private cluster lives in $pg_dir"
  fi
  mkdir -p "$pg_dir/data"
  chown -R postgres:postgres "$pg_dir"
fi
data="$pg_dir/data"; sock="$pg_dir"
mkdir -p "$data"
if [ ! -f "$data/PG_VERSION" ]; then
  log "initialising a private cluster in $data"
  "${as_pg[@]}" "$pg_bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >&2
fi
if ! "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$private_port"; then
  log "starting the private cluster on 127.0.0.1:$private_port"
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$data" -l "$sock/server.log" -w \
    -o "-p $private_port -k $sock -c listen_addresses=127.0.0.1" start >&2
fi
echo "postgresql+psycopg://postgres@127.0.0.1:$private_port"
