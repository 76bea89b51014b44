#!/usr/bin/env bash
# Create .venv and install GridPatrol into it (pip install -e '.[test]').
#
# Debian splits `venv` out of python3: when it is missing, `python3 -m venv` leaves a
# half-made .venv without pip, so that one is removed and python3-venv installed with apt.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=.venv
fetch() { "$PYTHON" scripts/preflight.py fetch "$@"; }

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
  [ -L "$VENV" ] || rm -rf "$VENV"
  if ! "$PYTHON" -m venv "$VENV" >/dev/null 2>&1; then
    [ -L "$VENV" ] || rm -rf "$VENV"
    if [ "$(id -u)" != 0 ]; then
      echo "make: $PYTHON cannot create a venv; as root: apt-get install -y python3-venv" >&2
      exit 1
    fi
    # python3-venv pulls the python3.X-venv that matches the machine's python3.
    export DEBIAN_FRONTEND=noninteractive
    fetch apt -- apt-get update -qq
    fetch apt -- apt-get install -y -qq python3-venv
    "$PYTHON" -m venv "$VENV"
  fi
fi
fetch pypi -- "$VENV/bin/pip" install -q --upgrade pip
fetch pypi -- "$VENV/bin/pip" install -q -e '.[test]'
