"""The cold-start baseline: a dynamic provider that imports nothing beyond the Pulumi SDK.

It lives in its own module (not in ``bench_targets``, which imports the emulator) so that the
provider server, which imports this module to unpickle the provider, pays only for the SDK.
"""

from __future__ import annotations

from typing import Any

from pulumi.dynamic import CheckResult, ResourceProvider


class TrivialProvider(ResourceProvider):
    """Check echoes its inputs; nothing else is ever called."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, [])
