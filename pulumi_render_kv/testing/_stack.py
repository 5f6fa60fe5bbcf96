"""What a Pulumi program needs of the stack it runs against, as a protocol.

:func:`~.program.run_program` takes any such stack, and :class:`~.engine.Engine` is one. The
engine runs programs and so imports :mod:`.program`; with this protocol the program module
needs nothing of the engine back, and the imports run one way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .deployment import Deployment


class ProgramStack(Protocol):
    """One stack (``project``/``stack``): its config, its root URN and its deployments."""

    @property
    def project(self) -> str: ...

    @property
    def stack(self) -> str: ...

    @property
    def config(self) -> Mapping[str, Any]:
        """The stack config, namespaced keys (``ns:key``), values plain or secret-wrapped."""
        ...

    @property
    def stack_urn(self) -> str: ...

    def set_config(self, config: Mapping[str, Any]) -> None:
        """Replace the stack config, as ``pulumi config set`` before the next command."""

    def set_stack_outputs(self, outputs: Mapping[str, Any]) -> None:
        """Record the stack outputs (wire form) an ``up`` of the program exported."""

    def deployment(self, *, preview: bool) -> Deployment:
        """A preview (``preview=True``) or an up in progress, for the program's registrations."""
        ...
