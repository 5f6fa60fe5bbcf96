"""Shared test configuration."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

# tests/ holds helper modules (openapi_contract) imported by tests in sub-folders.
sys.path.insert(0, str(Path(__file__).parent))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per skip reason (addopts leaves skips out of -r).

    `-ra` printed a line for each skipped test: twenty for one missing OpenAPI spec file.
    """
    reasons: Counter[str] = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        message = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reasons[message.removeprefix("Skipped: ")] += 1
    for reason, count in sorted(reasons.items()):
        terminalreporter.write_line(f"SKIPPED {count} test(s): {reason}")
