#!/bin/sh
# First start: initdb (password auth over TCP), the application's role and database with
# PostGIS. Every start: postgres in the foreground, as the postgres user.
set -eu
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
user=${POSTGRES_USER:-gridpatrol}; db=${POSTGRES_DB:-$user}; port=${PGPORT:-5432}
bin=/usr/lib/postgresql/15/bin
mkdir -p "$PGDATA"; chown postgres:postgres "$PGDATA"; chmod 0700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  runuser -u postgres -- "$bin/initdb" -D "$PGDATA" -U postgres -E UTF8 \
    --auth-local=peer --auth-host=scram-sha-256 >/dev/null
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  runuser -u postgres -- "$bin/pg_ctl" -D "$PGDATA" -w -s \
    -o "-c listen_addresses='' -k /tmp" start
  runuser -u postgres -- psql -X -q -h /tmp -v ON_ERROR_STOP=1 -v user="$user" -v db="$db" \
    -v password="$POSTGRES_PASSWORD" <<'SQL'
CREATE ROLE :"user" LOGIN PASSWORD :'password';
CREATE DATABASE :"db" OWNER :"user";
\connect :"db"
CREATE EXTENSION postgis;
SQL
  runuser -u postgres -- "$bin/pg_ctl" -D "$PGDATA" -w -s stop
  echo "postgis-entrypoint: initialised $PGDATA: role $user, database $db with PostGIS"
fi
exec runuser -u postgres -- "$bin/postgres" -D "$PGDATA" -p "$port" -k /tmp \
  -c listen_addresses="${LISTEN_ADDRESSES:-*}"
