"""Where the provider's warnings and progress lines go: stderr, unless a face says otherwise.

The dynamic provider's process has no engine connection, so it prints to stderr, which the
CLI shows beside the stack. A real provider has one (the engine's ``Log`` RPC, with the
resource's URN), so it sets its own sink around each request with :func:`reporting_to`. A
context variable rather than an attribute: one provider instance serves many requests at
once, each about another resource.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from pulumi_render_kv.core._wait import log_progress


def _print_warning(name: Any, message: str) -> None:
    print(f"warning: KeyValue {name!r}: {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Report:
    """``warn(name, message)``: a warning about resource ``name``; ``progress(line)``."""

    warn: Callable[[Any, str], None]
    progress: Callable[[str], None]


TO_STDERR = Report(warn=_print_warning, progress=log_progress)
_current: ContextVar[Report] = ContextVar("render_kv_report", default=TO_STDERR)


def warn(name: Any, message: str) -> None:
    _current.get().warn(name, message)


def progress(message: str) -> None:
    _current.get().progress(message)


@contextmanager
def reporting_to(report: Report) -> Iterator[None]:
    """Send this context's warnings and progress to ``report`` until the block ends."""
    token = _current.set(report)
    try:
        yield
    finally:
        _current.reset(token)
