# The front door. `make train export build` trains, converts and renders dist/;
# `make test` runs the test suite; `make help` lists every target. Both install
# what they need on first use: a virtualenv in .venv (pinned by requirements.lock),
# node_modules (pinned by package-lock.json) and, for the browser and workflow
# tests, chromium and shellcheck (`make system-deps`; apt-get on Debian).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARTIFACTS ?= artifacts
DIST ?= dist
TRAIN_FLAGS ?=
EXPORT_FLAGS ?=
PYTEST_FLAGS ?=
# pytest-xdist workers for make test: browser tests mostly wait on frames, so one more than 2 cores keeps both busy
TEST_WORKERS ?= 3
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: help setup setup-cuda train export build evaluate test test-fast serve bench audit mutation clean system-deps
.PHONY: bench-train bench-build bench-page bench-first-visit bench-network bench-numbers bench-nondigits bench-personal bench-lighthouse bench-browser-training bench-report
.DEFAULT_GOAL := help

help:  ## list every target with what it does
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) \
	  | sed -e 's|$$(ARTIFACTS)|$(ARTIFACTS)|g' -e 's|$$(DIST)|$(DIST)|g' \
	        -e 's|$$(BENCH_ARTIFACTS)|$(BENCH_ARTIFACTS)|g' -e 's|$$(BENCH_DIST)|$(BENCH_DIST)|g' \
	  | awk 'BEGIN {FS = ":.*## "} {printf "  make %-24s %s\n", $$1, $$2}'

setup: $(PY_STAMP) $(NODE_STAMP)  ## .venv from requirements.lock and node_modules from package-lock.json (first use only)

$(PY_STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

# pip's tensorflow sees no GPU without NVIDIA's CUDA libraries; its [and-cuda] extra pins each of them exactly
setup-cuda: setup  ## NVIDIA's CUDA libraries for a GPU (tensorflow[and-cuda] at requirements.lock's version), into .venv
	$(BIN)/python -m pip install -q "tensorflow[and-cuda]==$$(sed -n 's/^tensorflow==//p' requirements.lock)"

$(NODE_STAMP): package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: install Node.js (which brings npm), then rerun make" >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

train: setup  ## MNIST -> $(ARTIFACTS)/model.keras + metrics.json
	$(BIN)/pipeline train --artifacts $(ARTIFACTS) $(TRAIN_FLAGS)

export: setup  ## $(ARTIFACTS)/model.keras -> $(ARTIFACTS)/tfjs/
	$(BIN)/pipeline export --artifacts $(ARTIFACTS) $(EXPORT_FLAGS)

build: setup  ## $(ARTIFACTS) + site_template/ -> $(DIST)/
	$(BIN)/pipeline build --artifacts $(ARTIFACTS) --out $(DIST)

evaluate: setup  ## accuracy, per-class figures and confusion matrix of $(ARTIFACTS)/model.keras on the MNIST test set
	$(BIN)/pipeline evaluate --artifacts $(ARTIFACTS)

system-deps:  ## chromium (benchmarks, Lighthouse), its headless shell (browser tests) and shellcheck (workflow tests), with apt-get
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	[ -x "$${CHROMIUM_PATH:-}" ] || command -v chromium-headless-shell >/dev/null || missing="$$missing chromium-headless-shell"; \
	command -v shellcheck >/dev/null || missing="$$missing shellcheck"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null; then \
	  echo "system-deps: missing$$missing, and there is no apt-get to install it (not Debian/Ubuntu)." >&2; \
	  echo "  Install it with your package manager (e.g. brew install --cask chromium; brew install shellcheck);" >&2; \
	  echo "  set CHROMIUM_PATH (tests; any headless Chromium) and CHROME_PATH (Lighthouse) where they live elsewhere." >&2; \
	  echo "  make test-fast needs neither." >&2; \
	  case "$$missing" in *chromium*) exit 1;; esac; \
	  echo "  Going on without shellcheck: its workflow tests are skipped." >&2; exit 0; \
	fi; \
	SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	$$SUDO apt-get update -q && $$SUDO apt-get install -y -q --no-install-recommends $$missing

test: setup system-deps  ## the whole suite (JS, unit, CLI, export, browser); prints the 15 slowest tests
	node --test tests/js/
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder --durations=15 $(PYTEST_FLAGS)

test-fast: setup  ## every pytest test not marked browser or slow; needs no chromium or shellcheck
	$(BIN)/python -m pytest -n 2 -m "not browser and not slow" $(PYTEST_FLAGS)

serve: setup  ## preview $(DIST) on http://127.0.0.1:8000/
	$(BIN)/pipeline serve --dist $(DIST)

# Benchmarks: each writes bench/results/NAME.json; bench-report renders them all into BENCHMARKS.md.
# They train and build their own copy of the default model in $(BENCH_ARTIFACTS), never touching
# $(ARTIFACTS)/ or $(DIST)/; to measure a site you built: make bench-page BENCH_ARTIFACTS=artifacts.
BENCH_ARTIFACTS ?= $(ARTIFACTS)/bench
BENCH_DIST ?= $(BENCH_ARTIFACTS)/dist
BENCH_OPTIONAL := $(if $(wildcard bench/lighthouse.py),bench-lighthouse) $(if $(wildcard bench/browser_training.py),bench-browser-training)

bench: setup system-deps  ## every benchmark on this machine, one after another -> BENCHMARKS.md
	$(MAKE) --no-print-directory bench-train
	$(MAKE) --no-print-directory bench-page
	$(MAKE) --no-print-directory bench-first-visit
	$(MAKE) --no-print-directory bench-network
	$(MAKE) --no-print-directory bench-numbers
	$(MAKE) --no-print-directory bench-nondigits
	$(MAKE) --no-print-directory bench-personal
	$(foreach target,$(BENCH_OPTIONAL),$(MAKE) --no-print-directory $(target) &&) true
	$(MAKE) --no-print-directory bench-report

bench-train: setup  ## default training + export: images/s, time to 99.5 %, export time and sizes
	$(BIN)/python -m bench.bench_train --artifacts $(BENCH_ARTIFACTS) --command "make bench-train"

bench-build: setup  ## $(BENCH_ARTIFACTS) -> $(BENCH_DIST), the site the page benchmarks measure
	$(BIN)/pipeline build --artifacts $(BENCH_ARTIFACTS) --out $(BENCH_DIST)

bench-page: bench-build system-deps  ## load, pen-up and predict latency per backend, in-page accuracy, sizes
	$(BIN)/python -m bench.bench_page --dist $(BENCH_DIST) --command "make bench-page"

bench-first-visit: bench-build system-deps  ## the drawing page's first visit: bytes (gzip), requests, time to ready on a phone profile
	$(BIN)/python -m bench.first_visit --dist $(BENCH_DIST) --command "make bench-first-visit"

bench-network: bench-build system-deps  ## the network view: one update of every layer, frame interval while drawing (DPR 2)
	$(BIN)/python -m bench.network_view --dist $(BENCH_DIST) --command "make bench-network"

bench-numbers: bench-build system-deps  ## numbers of MNIST test digits written with the mouse: read exactly, pen-up latency
	$(BIN)/python -m bench.bench_numbers --dist $(BENCH_DIST) --command "make bench-numbers"

bench-nondigits: bench-build system-deps  ## drawings of kinds never trained on, and single digits, drawn with the mouse: how often "?"
	$(BIN)/python -m bench.bench_nondigits --dist $(BENCH_DIST) --command "make bench-nondigits"

bench-personal: bench-build system-deps  ## the page learning a hand of Eastern Arabic-Indic numerals: learnt, not forgotten, time per adaptation
	$(BIN)/python -m bench.bench_personal --dist $(BENCH_DIST) --command "make bench-personal"

bench-lighthouse: setup system-deps  ## Lighthouse scores of a fresh build of $(BENCH_ARTIFACTS) (bench/lighthouse.py builds it)
	CHROME_PATH=$${CHROME_PATH:-/usr/bin/chromium} $(BIN)/python -m bench.lighthouse --artifacts $(BENCH_ARTIFACTS) --runs 3 --command "make bench-lighthouse"

bench-browser-training: bench-build system-deps  ## training in the browser page of $(BENCH_DIST)
	$(BIN)/python -m bench.browser_training --dist $(BENCH_DIST) --command "make bench-browser-training"

bench-report: setup  ## bench/results/*.json -> BENCHMARKS.md
	$(BIN)/python -m bench.report

AUDIT_VENV := .venv-audit
AUDIT_FLAGS ?=

$(AUDIT_VENV)/.installed: requirements-audit.lock
	$(PYTHON) -m venv $(AUDIT_VENV)
	$(AUDIT_VENV)/bin/python -m pip install -q -r requirements-audit.lock
	touch $@

audit: $(AUDIT_VENV)/.installed  ## known vulnerabilities in requirements.lock + package-lock.json; report only (AUDIT_FLAGS=--strict: exit 1 unless clean)
	$(AUDIT_VENV)/bin/python scripts/audit.py $(AUDIT_FLAGS)

MUTATION_STAMP := $(VENV)/.mutation-installed

# mutmut's tests run against the project's packages: it goes into .venv, beside them (its pins agree with theirs)
$(MUTATION_STAMP): $(PY_STAMP) requirements-mutation.lock
	$(BIN)/python -m pip install -q -r requirements-mutation.lock
	touch $@

mutation: $(MUTATION_STAMP) $(NODE_STAMP)  ## mutation testing (mutmut, StrykerJS) of the modules that decide what a visitor sees -> bench/results/mutation.json
	nice -n 10 $(BIN)/python -m bench.mutation --command "make mutation"

clean:  ## remove build output and trained artefacts (keeps .venv, node_modules and the MNIST cache)
	rm -rf $(DIST) $(ARTIFACTS) .pytest_cache .dist.tmp-* .dist.old-* mutants .stryker-tmp
