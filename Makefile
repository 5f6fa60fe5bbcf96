# Every target sets up what it needs: a fresh clone only needs `make demo` or `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint bench bench-detail venv server clean

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

test: venv server
	$(BIN)/python -m pytest

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

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
