"""Which instances the resources of this deployment hold, so no edit deletes one in use.

The engine runs one provider process per deployment and sends every resource's steps to
it; a dynamic provider is never told the other resources' ids. This registry is what the
process learns from the steps themselves:

- ``Create`` (a new instance, or one adopted) and ``Update`` hold the instance's id;
- ``Diff`` of a resource the program still declares, when it does not replace it, holds
  its id too: in an ``up`` every declared resource is diffed before any resource the
  program dropped is deleted, since deletes of dropped resources run last.

``Delete`` of a held id is then a resource leaving Pulumi's state while another keeps the
instance (a resource renamed with ``adopt_existing=True``, two resources adopting one
instance): the instance is kept. An adoption of an id already held is refused: two
resources must not manage one instance.

What a process cannot see: resources of other stacks, and resources of this stack in an
earlier deployment that this one does not declare (``pulumi destroy`` declares none, so it
deletes everything, as it should).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import StrEnum


class How(StrEnum):
    CREATED = "created"
    ADOPTED = "adopted"
    DECLARED = "declared"  # diffed or updated: a resource of the program holds it


@dataclass(frozen=True)
class Holding:
    name: str
    how: How

    def describe(self) -> str:
        if self.how is How.DECLARED:
            return f"a resource of this program (Render name {self.name!r}) holds it"
        return f"a resource of this deployment {self.how.value} it (Render name {self.name!r})"


class Holdings:
    """Thread-safe: the SDK's server runs up to four steps at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, Holding] = {}

    def hold(self, instance_id: str, name: str, how: How) -> Holding | None:
        """Record that a resource holds the instance; the adoption holding it before, if any.

        An adoption of an id already held is not recorded (the caller refuses it); a
        ``DECLARED`` holding never replaces a ``CREATED``/``ADOPTED`` one.
        """
        with self._lock:
            before = self._held.get(instance_id)
            if how is How.ADOPTED and before is not None:
                return before
            if before is None or how is not How.DECLARED:
                self._held[instance_id] = Holding(name, how)
            return before

    def holder(self, instance_id: str) -> Holding | None:
        with self._lock:
            return self._held.get(instance_id)
