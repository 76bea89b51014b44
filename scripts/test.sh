#!/usr/bin/env bash
# Run every test: doctests, unit, PostGIS integration and real-browser tests. The test
# session creates its own uniquely named database and drops it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
server=$(scripts/provision-db.sh)
export TEST_DATABASE_SERVER="$server"
unset DATABASE_URL
.venv/bin/ruff check .
.venv/bin/mypy --strict geo sync
# The field app's own unit tests (outbox, backoff; Node, fake-indexeddb): seconds.
(cd pwa && npx --no-install eslint . && npx --no-install vitest run --reporter=dot)
exec .venv/bin/python -m pytest "$@"
