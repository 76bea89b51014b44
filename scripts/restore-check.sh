#!/usr/bin/env bash
# Prove that a dump restores: pg_restore it into a NEW database on the same server, then
# compare the row count of every table with the database it came from.
#
#   DATABASE_URL=… scripts/restore-check.sh /var/backups/gridpatrol/db/gridpatrol-….dump
#
# Run it against a quiet source (or expect the tables written since the dump to differ).
# The restored database is dropped afterwards unless KEEP=1. Exit 1 on any difference.
#
# It restores the way docs/operations.md says to restore for real: connected as a
# superuser, PostGIS created first, the dump's own extension entries (and PostGIS's
# spatial_ref_sys rows) left out, every object owned by RESTORE_ROLE when it is set (the
# application's role; the new database is then owned by it too).
set -euo pipefail
dump=${1:?usage: scripts/restore-check.sh DUMP}
url=${DATABASE_URL:?DATABASE_URL must be set (the database the dump came from)}
src=${url/postgresql+psycopg:/postgresql:}
server=${src%/*}
target=gridpatrol_restore_$(date -u +%Y%m%d%H%M%S)
dst="$server/$target"

owner=${RESTORE_ROLE:+OWNER $RESTORE_ROLE}
psql -X -q -v ON_ERROR_STOP=1 "$server/postgres" -c "CREATE DATABASE $target $owner"
cleanup() {
  [ "${KEEP:-0}" = 1 ] || psql -X -q "$server/postgres" -c "DROP DATABASE IF EXISTS $target WITH (FORCE)"
}
trap cleanup EXIT
psql -X -q -v ON_ERROR_STOP=1 "$dst" -c "CREATE EXTENSION postgis"
list=$(mktemp); trap 'rm -f "$list"; cleanup' EXIT
pg_restore --list "$dump" | grep -v -E ' (EXTENSION|COMMENT - EXTENSION) | TABLE DATA public spatial_ref_sys ' > "$list"
# --no-owner (+ --role): objects belong to the application's role on this server, whoever
# owned them where the dump was taken.
pg_restore --no-owner ${RESTORE_ROLE:+--role="$RESTORE_ROLE"} --exit-on-error \
  --use-list="$list" --dbname="$dst" "$dump"

counts() {
  psql -X -Atq -v ON_ERROR_STOP=1 "$1" <<'SQL'
SELECT format('SELECT %L || '' '' || count(*) FROM %I.%I;', schemaname || '.' || relname, schemaname, relname)
FROM pg_stat_user_tables ORDER BY schemaname, relname
\gexec
SQL
}
diff <(counts "$src") <(counts "$dst") > /dev/null && same=1 || same=0
join <(counts "$src") <(counts "$dst") | awk '{printf "%-40s %10s %10s%s\n", $1, $2, $3, ($2 == $3 ? "" : "  DIFFERENT")}'
tables=$(counts "$dst" | wc -l)
if [ -n "${RESTORE_ROLE:-}" ]; then
  others=$(psql -X -Atq "$dst" -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'
    AND tablename <> 'spatial_ref_sys' AND tableowner <> '$RESTORE_ROLE'")
  [ "$others" = 0 ] || { echo "restore-check: $others tables not owned by $RESTORE_ROLE"; exit 1; }
fi
if [ "$same" = 1 ]; then
  echo "restore-check: $tables tables, every row count equal ($dump -> $target)"
else
  echo "restore-check: row counts differ (see DIFFERENT above)"; exit 1
fi
