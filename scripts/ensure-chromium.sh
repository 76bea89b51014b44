#!/usr/bin/env bash
# Browser tests drive Debian's Chromium; never a downloaded browser build.
# Playwright's own Node.js driver (in the venv) needs libatomic.so.1, which a minimal
# Debian lacks: without it every browser test fails with "Connection closed while
# reading from the driver" (found by make test-fresh). The apps are in Chinese: without a
# CJK font every label renders as boxes, in screenshots and in text measurements.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
/sbin/ldconfig -p | grep -q 'libatomic\.so\.1 ' || need+=(libatomic1)
{ command -v fc-list >/dev/null && fc-list :lang=zh | grep -q .; } || need+=(fonts-noto-cjk)
[ ${#need[@]} -gt 0 ] || exit 0
if [ "$(id -u)" != 0 ]; then
  echo "ensure-chromium: missing ${need[*]}; as root: apt-get install -y ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
python3 scripts/preflight.py fetch apt -- apt-get update -qq
python3 scripts/preflight.py fetch apt -- apt-get install -y -qq "${need[@]}"
