"""One CLI command in progress: where its calls and the provider's stderr begin, and its end.

An :class:`Operation` is what :meth:`~.engine.Engine.begin` hands to whoever carries out a
command (the engine's own refresh/destroy/import, or a :class:`~.deployment.Deployment` for
preview and up): the conversation and state to work with, and :meth:`end`, which closes the
command as the engine does (Cancel to the plugin) and returns its :class:`~.model.OperationResult`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from .conversation import ProviderConversation
from .model import EngineError, OperationResult, StepResult
from .state import StackState


class Operation:
    """A running command; :meth:`end` or :meth:`abort` finishes it, exactly once."""

    def __init__(
        self,
        name: str,
        conversation: ProviderConversation,
        *,
        on_finish: Callable[[Operation], None],
    ) -> None:
        self.name = name
        self.conversation = conversation
        self._on_finish = on_finish
        self._first_call = len(conversation.calls)
        self._stderr_from = conversation.server.stderr_size()
        self._finished = False

    @property
    def state(self) -> StackState:
        return self.conversation.state

    @contextlib.contextmanager
    def scope(self) -> Iterator[Operation]:
        """The body of the command: whatever escapes it ends the command.

        An :class:`EngineError`, a harness ``ValueError``, a provider bug or Ctrl-C: the
        command is over either way (state stays as the steps done so far left it), so the
        next one may begin instead of finding "operation ... is still running".
        """
        try:
            yield self
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """End the command without a plan (after a failure), if it is still running."""
        self._finish()

    def end(self, steps: list[StepResult], error: EngineError | None = None) -> OperationResult:
        """End the command; its plan holds the steps, the calls made and the stderr written."""
        self._finish()
        stderr = self.conversation.server.stderr_text(self._stderr_from)
        return OperationResult(
            operation=self.name,
            project=self.state.project,
            stack=self.state.stack,
            steps=tuple(steps),
            calls=tuple(self.conversation.calls[self._first_call :]),
            stderr=tuple(stderr.splitlines()),
            error=error,
        )

    def _finish(self) -> None:
        if not self._finished:
            self._finished = True
            self.conversation.end()
            self._on_finish(self)
