# GridPatrol: `make run` serves the app on :8000; `make test` runs every test.
# Both install what they need first (venv, npm packages and the PWA build, PostGIS and
# Chromium from Debian's packages).

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
PWA_STAMP := pwa/dist/index.html
PWA_SOURCES := $(shell find pwa -path pwa/node_modules -prune -o -path pwa/dist -prune -o -type f -print 2>/dev/null)

.PHONY: run test venv pwa system lint bench fuzz clean

run: venv pwa
	scripts/run.sh

test: venv pwa system
	scripts/test.sh

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV) || \
		(apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV))
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

pwa: $(PWA_STAMP)

# npm 11 can refuse a lockfile that lists only this platform's optional packages (rollup's
# native builds); then the same locked versions are installed with `npm install --no-save`.
$(PWA_STAMP): $(PWA_SOURCES)
	cd pwa && (npm ci --no-audit --no-fund || npm install --no-audit --no-fund --no-save)
	cd pwa && npm run build

system:
	scripts/ensure-chromium.sh
	scripts/provision-db.sh > /dev/null

lint: venv
	$(VENV)/bin/ruff check .

bench: venv pwa system
	$(VENV)/bin/python bench/match.py

# A long schemathesis run (about 10,000 cases) over every operation of the served spec.
fuzz: venv system
	$(VENV)/bin/python bench/schemathesis_long.py

clean:
	rm -rf $(VENV) pwa/node_modules pwa/dist
