# studyflow — two commands on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
STUDY  := $(VENV)/bin/study

.PHONY: demo test test-integration bench lint lock clean venv venv-dev datadocs-assets ui

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# The stamp files record which lock was installed; a changed lock reinstalls.
$(VENV)/.runtime: requirements.lock pyproject.toml | $(VENV)/bin/python
	$(PIP) install -r requirements.lock
	$(PIP) install --no-deps -e .
	touch $@

$(VENV)/.dev: requirements-dev.lock pyproject.toml | $(VENV)/bin/python
	$(PIP) install -r requirements-dev.lock
	$(PIP) install --no-deps -e .
	touch $@ $(VENV)/.runtime

venv: $(VENV)/.runtime
venv-dev: $(VENV)/.dev

demo: $(VENV)/.runtime
	@# Optional: Data Docs render offline only with their CSS/JS installed (needs npm).
	@if command -v npm >/dev/null 2>&1; then bash infra/datadocs-assets.sh || true; \
	 else echo "npm not found: Data Docs will be built but render unstyled offline (see README)"; fi
	$(STUDY) demo

test: $(VENV)/.dev
	$(PY) -m pytest

# The demo deployed to the local production stack (infra/local-stack.sh): PostgreSQL, a Prefect
# server, S3 on loopback and a worker; ingest and arrival runs through served deployments.
test-integration: $(VENV)/.dev
	$(PY) -m pytest -m "e2e or server" tests -o addopts="-ra --strict-markers --import-mode=importlib"

# The study at scale 1 and ~1M responses (fresh process per run) against a pandas baseline:
# writes bench/results.json, bench/results.md and the README table; then the micro-benchmarks.
# BENCH_SCALE=0 skips the large study. Generated data stays under .studyflow/bench (git-ignored).
BENCH_SCALE ?= 1000
bench: $(VENV)/.dev
	$(PY) -m tests.bench.study_bench --large-scale $(BENCH_SCALE)
	$(PY) -m pytest -m bench tests/bench -o addopts="" -q

# A local Prefect server (UI and API on 127.0.0.1:$(UI_PORT)); prints the UI address and the
# `export PREFECT_API_URL=…` line for the shell that runs studies. Stop it with Ctrl-C.
UI_PORT ?= 4200
ui: $(VENV)/.runtime
	$(STUDY) server --port $(UI_PORT)

# Data Docs' CSS/JS from npm, so the docs render offline (needs npm).
datadocs-assets:
	bash infra/datadocs-assets.sh

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy flows tasks schemas deployments

# Re-resolve the pinned lock files from pyproject.toml (needs the registries).
lock: $(VENV)/.dev
	$(VENV)/bin/pip-compile -q --no-emit-index-url --no-emit-find-links --strip-extras --no-header --allow-unsafe -o requirements.lock pyproject.toml
	$(VENV)/bin/pip-compile -q --no-emit-index-url --no-emit-find-links --strip-extras --no-header --allow-unsafe --extra dev -o requirements-dev.lock pyproject.toml

clean:
	rm -rf $(VENV) .studyflow .pytest_cache
