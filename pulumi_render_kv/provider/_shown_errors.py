"""Our errors reach the user as one line on the resource, not as a Python traceback.

The SDK's dynamic-provider server (``pulumi/dynamic/__main__.py``) turns every exception a
provider raises into gRPC ``UNKNOWN`` with ``traceback.format_exc()`` as the message, and
the CLI prints that whole text as the resource's error: for one refused create, twenty lines
of the SDK's, tenacity's and our frames (and each chained cause) around the one sentence
that says what happened and what to run. The SDK offers no hook, but it looks
``traceback.format_exc`` up on the module each time it aborts, so inside that server process
(and nowhere else) the lookup is pointed at a function that gives our own errors as
``module.Class: message`` — the sentence, already scrubbed of secrets — and leaves every
other exception (a bug, another dynamic provider's error in the same process) with its full
traceback, as the SDK would print it.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable

from pulumi_render_kv.errors import KeyValueError
from pulumi_render_kv.provider._watchdog import under_dynamic_server

FormatExc = Callable[..., str]

_lock = threading.Lock()
_installed: list[FormatExc] = []  # the original, once installed


def _is_ours(error: BaseException | None) -> bool:
    """One of the resource's errors, or the client's (a ``RenderError``).

    A ``RenderError`` can only exist once the client is imported, so an error shown before
    then (a refused preview's) is not made to import it: check and diff need no client, and
    a preview's provider process pays for every import (issue 16, target 3).
    """
    if isinstance(error, KeyValueError):
        return True
    client_errors = sys.modules.get("pulumi_render_kv.client._errors")
    return client_errors is not None and isinstance(error, client_errors.RenderError)


def one_line_for_ours(original: FormatExc) -> FormatExc:
    """``traceback.format_exc`` that prints our errors as one line and the rest as before."""

    def format_exc(limit: int | None = None, chain: bool = True) -> str:
        error = sys.exc_info()[1]
        if _is_ours(error):
            kind = type(error)
            return f"{kind.__module__}.{kind.__qualname__}: {error}"
        return original(limit, chain)

    return format_exc


def install() -> bool:
    """Point the SDK server's ``traceback.format_exc`` at :func:`one_line_for_ours`, once.

    Only in the SDK's server process: a program or a test calling the provider in-process
    keeps Python's own. Returns whether it is installed now.
    """
    if not under_dynamic_server():
        return False
    with _lock:
        if not _installed:
            _installed.append(traceback.format_exc)
            traceback.format_exc = one_line_for_ours(traceback.format_exc)
    return True
