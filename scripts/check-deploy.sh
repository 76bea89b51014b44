#!/usr/bin/env bash
# Check the deployment files in deploy/: every systemd unit with `systemd-analyze verify`
# and the nginx site with `nginx -t`. Installs systemd and nginx with apt when missing
# (as root). `make check-deploy`; not part of `make test`.
#
# The units name /srv/gridpatrol (the documented install path) and the nginx site names
# Let's Encrypt files; for the check, copies point at this checkout's .venv and at a
# throw-away self-signed certificate, so that verify finds every executable it names.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "check-deploy: $*" >&2; }
need=()
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { log "missing ${need[*]}; as root: apt-get install -y ${need[*]}"; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  python3 scripts/preflight.py fetch apt -- apt-get update -qq
  python3 scripts/preflight.py fetch apt -- apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
[ -x .venv/bin/gunicorn ] || { log "run make first (.venv/bin/gunicorn is missing)"; exit 1; }

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/units"
for unit in deploy/systemd/*; do
  sed "s|/srv/gridpatrol/|$PWD/|g; s|/srv/gridpatrol$|$PWD|" "$unit" > "$tmp/units/$(basename "$unit")"
done
# verify also loads the units these name (postgresql.service, …): warnings about those
# being absent are not ours, so the output is shown, and only its exit status counts.
SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$tmp"/units/* 2>&1 \
  | grep -v -E "postgresql.service|network-online" || true
if ! systemd-analyze verify --man=no "$tmp"/units/* >/dev/null 2>&1; then
  log "systemd-analyze verify failed"; systemd-analyze verify --man=no "$tmp"/units/*; exit 1
fi
log "systemd-analyze verify: $(ls deploy/systemd | wc -l) units OK"

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=patrol.example.cn \
  -keyout "$tmp/privkey.pem" -out "$tmp/fullchain.pem" 2>/dev/null
sed "s|/etc/letsencrypt/live/patrol.example.cn|$tmp|" deploy/nginx/gridpatrol.conf > "$tmp/site.conf"
mkdir -p "$tmp/logs"
cat > "$tmp/nginx.conf" <<CONF
pid $tmp/nginx.pid;
error_log $tmp/logs/error.log;
events {}
http {
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path $tmp/body;
    proxy_temp_path $tmp/proxy;
    include $tmp/site.conf;
}
CONF
nginx=$(command -v nginx || echo /usr/sbin/nginx)
"$nginx" -t -q -p "$tmp" -c "$tmp/nginx.conf"
log "nginx -t: deploy/nginx/gridpatrol.conf OK ($("$nginx" -v 2>&1 | sed 's/.*: //'))"
