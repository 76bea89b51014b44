#!/usr/bin/env bash
# Rehearse docs/operations.md on this machine, end to end, with nothing left behind:
#   scripts/run.sh (migrate, demo, gunicorn) on a scratch database -> nginx with
#   deploy/nginx/gridpatrol.conf and a self-signed certificate -> scripts/smoke.py through
#   HTTPS (sign-in, photo, push, pull) -> scripts/backup.sh -> scripts/restore-check.sh
#   (pg_restore into a new database, every table's row count compared) -> photo files
#   compared. `make rehearse-deploy`; not part of `make test`.
#
# Ports: gunicorn, nginx's HTTP and HTTPS on free loopback ports (not 80/443/8000).
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "rehearse: $*" >&2; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx" ] || { log "nginx is missing: run make check-deploy (it installs it)"; exit 1; }
[ -f pwa/dist/index.html ] && [ -x .venv/bin/gunicorn ] || { log "run make first"; exit 1; }

tmp=$(mktemp -d /tmp/gridpatrol-rehearsal.XXXXXX)
server=$(scripts/provision-db.sh)
db="gridpatrol_rehearsal_$(date -u +%H%M%S)"
export DATABASE_URL="$server/$db" ATTACHMENT_DIR="$tmp/attachments" SECRET_KEY=rehearsal WORKERS=2
app_port=$(free_port); http_port=$(free_port); tls_port=$(free_port)
app_pid=""
cleanup() {
  [ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null || true
  [ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null && wait "$app_pid" 2>/dev/null || true
  .venv/bin/python -m scripts.dbtool drop "$DATABASE_URL" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

.venv/bin/python -m scripts.dbtool create "$DATABASE_URL"
log "scripts/run.sh on 127.0.0.1:$app_port, database $db"
PORT=$app_port scripts/run.sh > "$tmp/app.log" 2>&1 &
app_pid=$!
for _ in $(seq 120); do
  curl -fsS "http://127.0.0.1:$app_port/api/v1/meta" >/dev/null 2>&1 && break
  kill -0 "$app_pid" 2>/dev/null || { cat "$tmp/app.log"; log "the app did not start"; exit 1; }
  sleep 1
done

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=patrol.example.cn \
  -keyout "$tmp/privkey.pem" -out "$tmp/fullchain.pem" 2>/dev/null
sed -e "s|/etc/letsencrypt/live/patrol.example.cn|$tmp|" \
    -e "s|server 127.0.0.1:8000;|server 127.0.0.1:$app_port;|" \
    -e "s|listen 443 ssl http2;|listen 127.0.0.1:$tls_port ssl http2;|" \
    -e "s|listen 80;|listen 127.0.0.1:$http_port;|" -e '/listen \[::\]/d' \
    deploy/nginx/gridpatrol.conf > "$tmp/site.conf"
mkdir -p "$tmp/logs"
cat > "$tmp/nginx.conf" <<CONF
pid $tmp/nginx.pid;
error_log $tmp/logs/error.log;
events {}
http {
    include /etc/nginx/mime.types;
    access_log $tmp/logs/access.log;
    client_body_temp_path $tmp/body;
    proxy_temp_path $tmp/proxy;
    include $tmp/site.conf;
}
CONF
"$nginx" -p "$tmp" -c "$tmp/nginx.conf"
log "nginx: http://127.0.0.1:$http_port (redirects), https://127.0.0.1:$tls_port"
redirect=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://127.0.0.1:$http_port/console/")
log "plain HTTP answers $redirect"
[[ $redirect == "301 https://"* ]] || { log "HTTP did not redirect to HTTPS"; exit 1; }
hsts=$(curl -sk -D - -o /dev/null "https://127.0.0.1:$tls_port/" | grep -i '^strict-transport-security' || true)
[ -n "$hsts" ] || { log "no Strict-Transport-Security header over HTTPS"; exit 1; }
python3 scripts/smoke.py "https://127.0.0.1:$tls_port" --insecure

scripts/backup.sh "$tmp/backup"
dump=$(ls "$tmp"/backup/db/*.dump)
# Restored as for real: objects owned by an application role, not by the superuser.
role="gridpatrol_rehearsal_$(date -u +%H%M%S)"
psql -X -q "${DATABASE_URL/postgresql+psycopg:/postgresql:}" -c "CREATE ROLE $role LOGIN"
RESTORE_ROLE=$role scripts/restore-check.sh "$dump" || { psql -X -q "${DATABASE_URL/postgresql+psycopg:/postgresql:}" -c "DROP ROLE $role"; exit 1; }
psql -X -q "${DATABASE_URL/postgresql+psycopg:/postgresql:}" -c "DROP ROLE $role"
photos_src=$(find "$ATTACHMENT_DIR" -type f | wc -l)
photos_bak=$(find "$tmp/backup/attachments" -type f | wc -l)
log "photo files: $photos_src in ATTACHMENT_DIR, $photos_bak in the backup"
[ "$photos_src" = "$photos_bak" ] && [ "$photos_src" -gt 0 ] || { log "photo backup differs"; exit 1; }
log "OK: deploy, TLS proxy, smoke, backup and restore all as documented"
