# The front door. `make train export build` trains, converts and renders dist/;
# `make test` runs the test suite. Both install what they need on first use:
# a virtualenv in .venv (pinned by requirements.lock), node_modules (pinned by
# package-lock.json) and, for the browser tests, Debian's chromium.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARTIFACTS ?= artifacts
DIST ?= dist
TRAIN_FLAGS ?=
PYTEST_FLAGS ?=
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: setup train export build evaluate test serve bench clean chromium audit

setup: $(PY_STAMP) $(NODE_STAMP)

$(PY_STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

$(NODE_STAMP): package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

train: setup  ## MNIST -> $(ARTIFACTS)/model.keras + metrics.json
	$(BIN)/pipeline train --artifacts $(ARTIFACTS) $(TRAIN_FLAGS)

export: setup  ## $(ARTIFACTS)/model.keras -> $(ARTIFACTS)/tfjs/
	$(BIN)/pipeline export --artifacts $(ARTIFACTS)

build: setup  ## $(ARTIFACTS) + site_template/ -> $(DIST)/
	$(BIN)/pipeline build --artifacts $(ARTIFACTS) --out $(DIST)

evaluate: setup
	$(BIN)/pipeline evaluate --artifacts $(ARTIFACTS)

chromium:  ## Debian's chromium for the browser tests (Playwright cannot download its own here)
	@command -v chromium >/dev/null || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q --no-install-recommends chromium; }

test: setup chromium  ## the whole suite: unit, CLI, export, browser
	node --test tests/js/
	$(BIN)/python -m pytest $(PYTEST_FLAGS)

serve: setup  ## preview $(DIST) on http://127.0.0.1:8000/
	$(BIN)/pipeline serve --dist $(DIST)

bench: setup chromium  ## page benchmarks of $(DIST) -> bench/page.json (printed as a table)
	$(BIN)/python bench/bench_page.py --dist $(DIST) --out bench/page.json

AUDIT_VENV := .venv-audit
AUDIT_FLAGS ?=

$(AUDIT_VENV)/.installed: requirements-audit.lock
	$(PYTHON) -m venv $(AUDIT_VENV)
	$(AUDIT_VENV)/bin/python -m pip install -q -r requirements-audit.lock
	touch $@

audit: $(AUDIT_VENV)/.installed  ## known vulnerabilities in requirements.lock + package-lock.json; report only (AUDIT_FLAGS=--strict: exit 1 unless clean)
	$(AUDIT_VENV)/bin/python scripts/audit.py $(AUDIT_FLAGS)

clean:  ## remove build output and trained artefacts (keeps .venv, node_modules and the MNIST cache)
	rm -rf $(DIST) $(ARTIFACTS) .pytest_cache .dist.tmp-* .dist.old-*
