#!/usr/bin/env bash
# Serve GridPatrol on :8000: provision a database unless DATABASE_URL is set, migrate,
# load the demo grids and users, then start gunicorn.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PORT:-8000}
# Before anything slow: a taken port would only fail at gunicorn's bind, minutes later.
python3 scripts/preflight.py port "$port"
mkdir -p var
if [ -z "${DATABASE_URL:-}" ]; then
  server=$(scripts/provision-db.sh)
  .venv/bin/python -m scripts.dbtool create "$server/gridpatrol" --if-missing
  export DATABASE_URL="$server/gridpatrol"
fi
if [ -z "${SECRET_KEY:-}" ]; then
  [ -f var/secret_key ] || .venv/bin/python -c "import secrets; print(secrets.token_hex(32))" > var/secret_key
  SECRET_KEY=$(cat var/secret_key); export SECRET_KEY
fi
# A database that is still starting (a reboot, a container) gets a bounded wait.
.venv/bin/python scripts/preflight.py wait-db "$DATABASE_URL"
.venv/bin/flask --app server db upgrade
.venv/bin/flask --app server demo load
# The demo basemap (district, streets, communities, grids, names; docs/gis.md), cut from
# the database in a few seconds and replaced atomically; the default unless a basemap is
# configured.
if [ -z "${BASEMAP:-}" ] && [ -z "${BASEMAP_STYLE:-}" ]; then
  .venv/bin/flask --app server basemap build var/basemap/demo.pmtiles
  export BASEMAP="file:$PWD/var/basemap/demo.pmtiles"
fi
echo "GridPatrol: http://localhost:$port/ (field app), /console/ (supervisors)"
# server/gunicorn_conf.py: threads, timeouts, and gunicorn's own errors as JSON.
exec .venv/bin/gunicorn -c server/gunicorn_conf.py --bind "0.0.0.0:$port" \
  --access-logfile - 'server:create_app()'
