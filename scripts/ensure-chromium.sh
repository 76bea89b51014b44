#!/usr/bin/env bash
# Browser tests drive Debian's Chromium; never a downloaded browser build.
# Playwright's own Node.js driver (in the venv) needs libatomic.so.1, which a minimal
# Debian lacks: without it every browser test fails with "Connection closed while
# reading from the driver" (found by make test-fresh). The apps are in Chinese: without a
# CJK font every label renders as boxes, in screenshots and in text measurements.
# The scale-out tests start real nginx and PgBouncer, and the OGC API test reads the API
# with GDAL's ogr2ogr: Debian's packages of each.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
/sbin/ldconfig -p | grep -q 'libatomic\.so\.1 ' || need+=(libatomic1)
{ command -v fc-list >/dev/null && fc-list :lang=zh | grep -q .; } || need+=(fonts-noto-cjk)
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || need+=(nginx-light)
[ -x /usr/sbin/pgbouncer ] || command -v pgbouncer >/dev/null || need+=(pgbouncer)
command -v ogr2ogr >/dev/null || need+=(gdal-bin)
[ ${#need[@]} -gt 0 ] || exit 0
if [ "$(id -u)" != 0 ]; then
  echo "ensure-chromium: missing ${need[*]}; as root: apt-get install -y ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
python3 scripts/preflight.py fetch apt -- apt-get update -qq
python3 scripts/preflight.py fetch apt -- apt-get install -y -qq "${need[@]}"
