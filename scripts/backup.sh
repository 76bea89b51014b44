#!/usr/bin/env bash
# Back up GridPatrol: the database (pg_dump, custom format), then the photo store.
#
#   DATABASE_URL=… ATTACHMENT_DIR=… scripts/backup.sh /var/backups/gridpatrol
#
# Writes DEST/db/gridpatrol-<UTC time>.dump and copies new photo files into
# DEST/attachments. The dump comes first: a photo file is written before its row commits,
# so every row in the dump has its file. Photo files are content-addressed and never
# change, so only new ones are copied. Dumps older than BACKUP_KEEP_DAYS (14) are removed.
# Restore: docs/operations.md ("Backups"); scripts/restore-check.sh proves a dump restores.
set -euo pipefail
dest=${1:?usage: scripts/backup.sh DEST_DIR}
url=${DATABASE_URL:?DATABASE_URL must be set}
attachments=${ATTACHMENT_DIR:-$(dirname "$0")/../var/attachments}
dsn=${url/postgresql+psycopg:/postgresql:}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$dest/db" "$dest/attachments"

# Written under a temporary name, so a failed dump never looks like a good one.
pg_dump --format=custom --file="$dest/db/gridpatrol-$stamp.dump.part" "$dsn"
mv "$dest/db/gridpatrol-$stamp.dump.part" "$dest/db/gridpatrol-$stamp.dump"

copied=0
if [ -d "$attachments" ]; then
  before=$(find "$dest/attachments" -type f | wc -l)
  cp -a --no-clobber "$attachments/." "$dest/attachments/"
  copied=$(( $(find "$dest/attachments" -type f | wc -l) - before ))
fi
find "$dest/db" -name 'gridpatrol-*.dump' -mtime "+${BACKUP_KEEP_DAYS:-14}" -delete
echo "backup: $dest/db/gridpatrol-$stamp.dump ($(du -h "$dest/db/gridpatrol-$stamp.dump" | cut -f1)), $copied new photo files"
