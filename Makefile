# GridPatrol: `make run` serves the app on :8000; `make test` runs every test.
# Both install what they need first: the venv, Node.js when the machine has none recent
# enough (from PyPI, into the venv), npm packages and the PWA build, PostGIS and Chromium
# from Debian's packages. A fresh Debian 12 needs only python3, make and git.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
PWA_STAMP := pwa/dist/index.html
PWA_SOURCES := $(shell find pwa -path pwa/node_modules -prune -o -path pwa/dist -prune -o -type f -print 2>/dev/null)
# The venv's bin first: its node/npm (scripts/ensure-node.sh) win over an old system one.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
FETCH = $(PYTHON) $(CURDIR)/scripts/preflight.py fetch

.PHONY: run test test-fresh test-docker check-deploy rehearse-deploy venv pwa system lint bench fuzz test-pgbouncer clean python-ok

run: venv pwa
	scripts/run.sh

test: venv pwa system
	scripts/test.sh

# A fresh Debian 12 chroot (debootstrap) runs `make test` as a newcomer would; slow, and
# so not part of `make test`. See docs/operations.md.
test-fresh:
	scripts/fresh-debian-test.sh

# deploy/systemd units (systemd-analyze verify) and deploy/nginx (nginx -t).
check-deploy: venv
	scripts/check-deploy.sh

# docs/operations.md on this machine: run.sh, nginx + TLS, smoke, backup, restore.
rehearse-deploy: venv pwa
	scripts/check-deploy.sh
	scripts/rehearse-deploy.sh

# docker/Dockerfile and a PostGIS image built and run under podman; not in `make test`.
test-docker:
	scripts/podman-test.sh

python-ok:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found; GridPatrol needs Python >= 3.11 (Debian 12: apt-get install python3 python3-venv)" >&2; exit 1; }
	@$(PYTHON) scripts/preflight.py python

venv: python-ok $(STAMP)

$(STAMP): setup.cfg pyproject.toml | python-ok
	PYTHON=$(PYTHON) scripts/ensure-venv.sh
	touch $@

pwa: venv $(PWA_STAMP)

# npm 11 can refuse a lockfile that lists only this platform's optional packages (rollup's
# native builds); then the same locked versions are installed with `npm install --no-save`.
# Exit status 3 is "registry unreachable" (scripts/preflight.py): no second try then.
$(PWA_STAMP): $(PWA_SOURCES) | $(STAMP)
	scripts/ensure-node.sh
	cd pwa && { $(FETCH) npm -- npm ci --no-audit --no-fund || { rc=$$?; [ $$rc != 3 ] || exit 3; \
		$(FETCH) npm -- npm install --no-audit --no-fund --no-save; }; }
	cd pwa && npm run build

system:
	scripts/ensure-chromium.sh
	scripts/provision-db.sh > /dev/null

lint: venv
	$(VENV)/bin/ruff check .

bench: venv pwa system
	$(VENV)/bin/python bench/match.py

# A long schemathesis run (about 10,000 cases) over every operation of the served spec.
# The integration suite through PgBouncer in transaction mode (docs/operations.md,
# "Scaling out"); not part of make test.
test-pgbouncer: venv pwa system
	.venv/bin/python -m tests.scale.pgbouncer tests/api tests/sync tests/console -q

fuzz: venv system
	$(VENV)/bin/python bench/schemathesis_long.py

clean:
	rm -rf $(VENV) pwa/node_modules pwa/dist
