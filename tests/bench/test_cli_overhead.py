"""The CLI-overhead benchmark's table: ratios pair by pair, and the 1.2 target's verdict."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    # benchmarks/ is a folder of scripts, not a package: load the module from its file.
    spec = importlib.util.spec_from_file_location("bench_cli", ROOT / "benchmarks" / "bench_cli.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


bench_cli = _load()


def test_the_ratio_is_the_median_of_the_pairs_not_of_the_medians() -> None:
    # Pair by pair 1.0, 1.0, 2.0: median 1.0; the medians' ratio would be 4 / 2 = 2.0.
    text = bench_cli.table([("no-op up", [2.0, 4.0, 8.0], [2.0, 4.0, 4.0])], 3, 10)
    row = next(line for line in text.splitlines() if line.startswith("| no-op up"))
    assert "| 4.00 (2.00-8.00) | 4.00 (2.00-4.00) | 1.00 |" in row
    assert row.endswith("<= 1.2 ok |")


def test_a_ratio_over_the_target_is_a_miss() -> None:
    text = bench_cli.table([("refused preview", [3.0, 3.1], [2.0, 2.0])], 2, 10)
    assert text.splitlines()[-1].endswith("<= 1.2 MISS |")
