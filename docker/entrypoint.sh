#!/bin/sh
# Container entry point: wait for PostgreSQL, migrate, optionally load the demo, then
# exec gunicorn (or the command given, e.g. `flask --app server grids import …`).
#
# Environment: DATABASE_URL (required), SECRET_KEY, GRIDPATROL_DEMO=1 to run
# `flask --app server demo load`, DB_WAIT_SECONDS (default 60), PORT (8000), WORKERS (3),
# plus every variable of server/config.py.
set -eu

log() { echo "entrypoint: $*" >&2; }

: "${DATABASE_URL:?DATABASE_URL must be set (postgresql+psycopg://user:password@host:5432/db)}"
if [ -z "${SECRET_KEY:-}" ]; then
  log "warning: SECRET_KEY is not set; a random one is used per process"
fi

# 1. Wait until the database accepts connections: bounded (DB_WAIT_SECONDS, 60), then
#    one line saying what to do, never a stack trace (scripts/preflight.py).
PREFLIGHT_NAME=entrypoint python /app/scripts/preflight.py wait-db "$DATABASE_URL"

# 2. Schema (idempotent; the first migration also runs CREATE EXTENSION postgis).
flask --app server db upgrade

# 3. Demo grids and users, only when asked (never on a real deployment).
if [ "${GRIDPATROL_DEMO:-0}" = "1" ]; then
  log "GRIDPATROL_DEMO=1: loading the Jianye demo grids and demo users"
  flask --app server demo load
fi

# 4. A one-off command, or the server.
if [ "$#" -gt 0 ]; then
  exec "$@"
fi
# server/gunicorn_conf.py (WORKERS, THREADS): threads, and gunicorn's own errors as JSON.
exec gunicorn -c server/gunicorn_conf.py --bind "0.0.0.0:${PORT:-8000}" \
  --access-logfile - 'server:create_app()'
