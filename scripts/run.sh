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
echo "GridPatrol: http://localhost:$port/ (field app), /console/ (supervisors)"
exec .venv/bin/gunicorn --bind "0.0.0.0:$port" --workers "${WORKERS:-3}" \
  --threads 4 --timeout 120 --access-logfile - 'server:create_app()'
