"""Shared test configuration."""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from xdist.scheduler import LoadScopeScheduling

if TYPE_CHECKING:
    from xdist.remote import Producer

# tests/ holds helper modules (openapi_contract) imported by tests in sub-folders.
sys.path.insert(0, str(Path(__file__).parent))

# Render's OpenAPI spec and recorded traffic are data kept beside the checkout, in ../shared/
# (as the project's CI has them), never in it: a plain clone skips the tests that read them.
# Those skips are one line naming the missing folders, not one line per skip message.
_SHARED_FOLDER = re.compile(r"\.\./shared/[\w-]+")
_SHARED_DATA = {
    "../shared/render-openapi": "Render's OpenAPI spec",
    "../shared/render-traffic": "recorded API traffic",
}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per skip reason (addopts leaves skips out of -r).

    `-ra` printed a line for each skipped test: twenty for one missing OpenAPI spec file.
    """
    reasons: Counter[str] = Counter()
    shared_folders: set[str] = set()
    shared_skips = 0
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        message = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reason = message.removeprefix("Skipped: ")
        if folders := _SHARED_FOLDER.findall(reason):
            shared_folders.update(folder.rstrip("/") for folder in folders)
            shared_skips += 1
        else:
            reasons[reason] += 1
    if shared_skips:
        missing = sorted(shared_folders)
        what = " and ".join(_SHARED_DATA.get(folder, folder) for folder in missing)
        terminalreporter.write_line(
            f"SKIPPED {shared_skips} test(s): {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} absent ({what}, which the project's CI "
            "keeps beside the checkout; README.md, Testing, says where to get them)"
        )
    for reason, count in sorted(reasons.items()):
        terminalreporter.write_line(f"SKIPPED {count} test(s): {reason}")


# `make test` runs the suite in worker processes (pytest-xdist), handing out tests one at a time,
# except these modules: each runs whole on one worker. Why each must:
KEEP_TOGETHER = {
    # Its tests check the steps of one 40-operation replay, a module fixture (~30 s) that any
    # other worker given one of them would run again.
    "tests/testing/test_engine_traces.py",
    # Its wheel is built once, by a module fixture, and `python -m build` writes the checkout's
    # egg-info: two builds at once would both write it.
    "tests/acceptance/test_install.py",
}


class KeepTogetherScheduling(LoadScopeScheduling):
    """``--dist load`` (the default with ``-n``), but KEEP_TOGETHER's modules are one unit each.

    Not ``--dist loadgroup`` with ``xdist_group`` marks: pytest-xdist 3.8 groups by rewriting
    ``item._nodeid``, which pytest 9 no longer reads, so the marks are silently ignored.
    """

    def _split_scope(self, nodeid: str) -> str:
        module = nodeid.split("::", 1)[0]
        return module if module in KEEP_TOGETHER else nodeid


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(
    config: pytest.Config, log: Producer
) -> KeepTogetherScheduling | None:
    return KeepTogetherScheduling(config, log) if config.getvalue("dist") == "load" else None
