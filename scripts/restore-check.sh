#!/usr/bin/env bash
# Prove that a dump restores: pg_restore it into a NEW database on the same server, then
# compare the row count of every table with the database it came from.
#
#   DATABASE_URL=… scripts/restore-check.sh /var/backups/gridpatrol/db/gridpatrol-….dump
#
# Run it against a quiet source (or expect the tables written since the dump to differ).
# The restored database is dropped afterwards unless KEEP=1. Exit 1 on any difference.
set -euo pipefail
dump=${1:?usage: scripts/restore-check.sh DUMP}
url=${DATABASE_URL:?DATABASE_URL must be set (the database the dump came from)}
src=${url/postgresql+psycopg:/postgresql:}
server=${src%/*}
target=gridpatrol_restore_$(date -u +%Y%m%d%H%M%S)
dst="$server/$target"

psql -X -q -v ON_ERROR_STOP=1 "$server/postgres" -c "CREATE DATABASE $target"
cleanup() {
  [ "${KEEP:-0}" = 1 ] || psql -X -q "$server/postgres" -c "DROP DATABASE IF EXISTS $target WITH (FORCE)"
}
trap cleanup EXIT
# --no-owner: the new database belongs to whoever restores (another server, another role).
pg_restore --no-owner --exit-on-error --dbname="$dst" "$dump"

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
if [ "$same" = 1 ]; then
  echo "restore-check: $tables tables, every row count equal ($dump -> $target)"
else
  echo "restore-check: row counts differ (see DIFFERENT above)"; exit 1
fi
