# Every target sets up what it needs: a fresh clone only needs `make demo` or `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DIST   ?= dist
DIR    ?= playground

.PHONY: demo test lint bench bench-detail bench-vs-terraform bench-cli venv server clean dist dist-check playground

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

server:
	@scripts/ensure-server.sh

demo: venv server
	$(BIN)/python -m pulumi_render_kv.demo

# The quickstart and the app stack copied to DIR (default ./playground, git-ignored), to edit
# and run with the Pulumi CLI in this checkout's virtualenv; examples/ stays as `make test`
# expects it. Refuses to overwrite an existing DIR.
playground: venv
	$(BIN)/python -m pulumi_render_kv.demo playground $(DIR)

# pulumi-render-kv is on no package index: this builds the sdist and the wheel to install it
# from (pip install $(DIST)/pulumi_render_kv-*.whl), with the venv's pinned setuptools.
dist: venv
	rm -f $(DIST)/pulumi_render_kv-*
	$(BIN)/python -m build --quiet --no-isolation --outdir $(DIST)

# The wheel as a user installs it: a fresh virtualenv, its dependencies from PyPI (under
# constraints.txt); then import it and run its console script from outside the checkout (in
# the checkout, `python -c` would import the source tree instead of the wheel).
dist-check: dist
	@set -eu; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	wheel=$$(cd $(DIST) && ls "$$PWD"/pulumi_render_kv-*.whl); \
	$(PYTHON) -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/python" -m pip install -q -c constraints.txt "$$wheel"; \
	cd "$$tmp"; \
	"$$tmp/venv/bin/python" -c 'import sys, pulumi_render_kv.provider as p; \
	sys.exit(None if p.__file__.startswith(sys.prefix) else "dist-check: not the wheel: " + p.__file__)'; \
	"$$tmp/venv/bin/render-kv-import" --help >/dev/null; \
	echo "dist-check: $$(basename "$$wheel") installs into a fresh virtualenv, imports and runs"

# The suite in PYTEST_WORKERS processes (pytest-xdist). Much of a test's time is spent waiting
# on the processes it drives (provider servers, valkey/redis servers, the fault matrix's
# Retry-After and timeouts), so one worker more than cores keeps both busy. Tests are handed
# out one at a time (the fault matrix alone is a third of the suite), except the modules that
# tests/conftest.py keeps together. PYTEST_WORKERS=0 runs it in this process, as a bare
# `pytest` does.
PYTEST_WORKERS ?= 3
test: venv server
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist load $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Issue 9's figures next to their targets: one table, and docs/PERFORMANCE.md (about 6 min).
bench: venv server
	$(BIN)/python benchmarks/bench_targets.py

# The finer-grained speed tables (check/diff ops/s; lifecycle wall times on 5 instances).
bench-detail: venv server
	$(BIN)/python benchmarks/bench_planning.py
	$(BIN)/python benchmarks/bench_lifecycle.py

# Issue 16's side by side: the same job with Render's Terraform provider and with
# pulumi-render-kv, against the emulator (create/restart delay 10 s); writes docs/COMPARISON.md.
# Needs terraform or tofu on PATH and Render's provider, terraform-provider-render, on PATH or
# in a filesystem mirror named by RENDER_TF_PROVIDER_MIRROR; skips with one line without them.
bench-vs-terraform: venv server
	$(BIN)/python benchmarks/bench_vs_terraform.py

# Issue 16 target 6: no-op `pulumi up` and a refused preview, ours against a trivial dynamic
# provider under the same CLI, alternating, median of 7 pairs (about 3 min); needs `pulumi`
# on PATH and skips with one line without it.
bench-cli: venv server
	$(BIN)/python benchmarks/bench_cli.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(DIST)
