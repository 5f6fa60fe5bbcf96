"""Pure planning: what it takes to go from the prior state to the desired inputs.

``plan_changes(prior, desired)`` compares canonical values property by property and reads
``catalog.CHANGE_RULES`` to classify each difference (in place, restart, environment move,
replacement, provider-only). It also refuses what Render cannot do or what would lose data
without consent: plan downgrades, a free → paid upgrade (Render wipes free instances on
upgrade), and replacements, unless ``allowDataLoss`` is set. ``check`` uses the refusals to
fail at preview; ``diff`` and ``update`` use the rest. No I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulumi_render_kv import catalog
from pulumi_render_kv.catalog import ChangeKind, Plan
from pulumi_render_kv.spec import (
    AS_IS,
    AS_IS_PROPERTIES,
    DEFAULT_WAIT_TIMEOUT,
    UNKNOWN,
    Problem,
    allow_list_entries,
)

# Values a property has when it is absent from state written by an older provider version.
_DEFAULTS: dict[str, Any] = {
    "ipAllowList": [],
    "suspended": False,
    "deletionProtection": False,
    "allowDataLoss": False,
    "adoptExisting": False,
    "allowDuplicateName": False,
    "waitTimeout": DEFAULT_WAIT_TIMEOUT,
}


@dataclass(frozen=True)
class Change:
    property: str
    old: Any
    new: Any
    kind: ChangeKind


@dataclass
class PlannedChanges:
    """The result of comparing prior state with desired inputs."""

    changes: list[Change] = field(default_factory=list)
    rejections: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    delete_before_replace: bool = False
    uses_data_loss_consent: bool = False
    """Whether a planned change goes ahead only because ``allowDataLoss`` is set."""
    pinned: dict[str, Any] = field(default_factory=dict)
    """PATCH fields sent although unchanged: without them Render would change the value."""

    @property
    def changed(self) -> list[str]:
        return [c.property for c in self.changes]

    @property
    def replaces(self) -> list[str]:
        return [c.property for c in self.changes if c.kind is ChangeKind.REPLACE]

    @property
    def restarts(self) -> list[str]:
        return [c.property for c in self.changes if c.kind is ChangeKind.RESTART]

    @property
    def patch(self) -> dict[str, Any]:
        """The PATCH body: only the fields that changed and can be patched."""
        body: dict[str, Any] = {}
        for change in self.changes:
            rule = catalog.CHANGE_RULES[change.property]
            if rule.patch_field is not None:
                body[rule.patch_field] = change.new
        if body:  # pinned values go with a PATCH; alone they change nothing
            for prop, value in self.pinned.items():
                patch_field = catalog.CHANGE_RULES[prop].patch_field
                if patch_field is not None:
                    body.setdefault(patch_field, value)
        return body

    @property
    def suspends(self) -> bool:
        return any(c.kind is ChangeKind.SUSPEND and c.new is True for c in self.changes)

    @property
    def resumes(self) -> bool:
        return any(c.kind is ChangeKind.SUSPEND and c.new is False for c in self.changes)

    @property
    def log_stream(self) -> Change | None:
        """The log-stream override's change (``new`` None: back to the workspace default)."""
        return next((c for c in self.changes if c.kind is ChangeKind.LOG_STREAM), None)

    @property
    def environment_move(self) -> tuple[str | None, str | None] | None:
        for change in self.changes:
            if change.kind is ChangeKind.MOVE:
                return change.old, change.new
        return None


def _value(state: Mapping[str, Any], key: str) -> Any:
    value = state.get(key, _DEFAULTS.get(key))
    if key == "suspended" and value == AS_IS and isinstance(state.get("status"), str):
        # Prior outputs say what an unmanaged suspension really is: the instance's status.
        return state["status"] == catalog.SUSPENDED_STATUS
    return value


def _differs(old: Any, new: Any, prop: str = "") -> bool:
    if new is UNKNOWN:
        return True
    if prop == "ipAllowList":
        if old == new:
            return False  # the same list is the same set (most previews: no sets built)
        # Compared as sets: order and duplicates are never a change (check keeps the user's
        # order, refresh reads Render's).
        old_set, new_set = allow_list_entries(old), allow_list_entries(new)
        if old_set is not None and new_set is not None:
            return old_set != new_set
    if isinstance(old, float | int) and isinstance(new, float | int):
        return float(old) != float(new)
    return bool(old != new)


# Inputs that, when not given, are derived from others (spec._resolve_workload): a typo in
# what they derive from makes the derived value meaningless too.
_DERIVED_FROM: dict[str, tuple[str, ...]] = {
    "maxmemoryPolicy": ("workload",),
    "persistenceMode": ("workload", "plan"),
}


def validated_only(
    prior: Mapping[str, Any],
    desired: Mapping[str, Any],
    problems: Sequence[Problem],
    given: Mapping[str, Any],
) -> dict[str, Any]:
    """``desired`` with every input that failed validation put back to its ``prior`` value.

    Planning from a typo gives advice about the typo's meaningless value: a replacement
    needing allow_data_loss for ``region="oregan"``, a restart for ``plan="strater"``, a
    policy change to None for ``workload="queu"``. The typo's own problem says what to fix;
    planning judges only what validated. ``given`` is the raw input, to tell a derived value
    from one the user wrote.
    """
    invalid = {_top_level(p.property) for p in problems}
    invalid |= {
        prop
        for prop, sources in _DERIVED_FROM.items()
        if given.get(prop) is None and invalid.intersection(sources)
    }
    result = {k: v for k, v in desired.items() if k not in invalid}
    result.update({k: prior[k] for k in invalid if k in prior})
    return result


def _top_level(path: str) -> str:
    return path.split(".", 1)[0].split("[", 1)[0]


def on_given_input(problem: Problem, given: Mapping[str, Any]) -> Problem:
    """``problem`` moved to the input it comes from when its property is derived, not given.

    A policy the program does not set comes from ``workload``: a refused policy change is the
    workload's, and the engine, printing the value of the property named, would show nil.
    """
    prop = _top_level(problem.property)
    if problem.property != prop or given.get(prop) is not None:
        return problem
    source = next((s for s in _DERIVED_FROM.get(prop, ()) if given.get(s) is not None), None)
    if source is None:
        return problem
    return Problem(source, f"{prop} (from {source}): {problem.reason}")


def plan_changes(prior: Mapping[str, Any], desired: Mapping[str, Any]) -> PlannedChanges:
    """Compare prior state (old outputs or old inputs) with canonical desired inputs."""
    result = PlannedChanges()
    for prop, rule in catalog.CHANGE_RULES.items():
        old, new = _value(prior, prop), _value(desired, prop)
        if prop == "ownerId" and (old is None or new is None):
            continue  # an unset owner means "the configured/default workspace": nothing to compare
        if prop in AS_IS_PROPERTIES and new == AS_IS:
            continue  # left as it is in Render, whatever that is
        if _differs(old, new, prop):
            result.changes.append(Change(prop, old, new, rule.kind))
    _judge(prior, desired, result)
    return result


def _judge(prior: Mapping[str, Any], desired: Mapping[str, Any], result: PlannedChanges) -> None:
    allow_data_loss = desired.get("allowDataLoss") is True
    protected = prior.get("deletionProtection") is True
    old_plan, new_plan = prior.get("plan"), desired.get("plan")
    name = desired.get("name") if isinstance(desired.get("name"), str) else prior.get("name")
    replacing = [c for c in result.changes if c.kind is ChangeKind.REPLACE]
    if replacing:
        _judge_replacement(replacing, name, protected, allow_data_loss, result)
        # Render allows one free instance per workspace: the old one must go first.
        result.delete_before_replace = old_plan == Plan.FREE.value and new_plan == Plan.FREE.value
        return  # a new instance: plan order and restarts of the old one do not apply
    if "plan" in result.changed and isinstance(old_plan, str) and isinstance(new_plan, str):
        _judge_plan(old_plan, new_plan, allow_data_loss, result)
        _pin_persistence_off_free(old_plan, new_plan, desired, result)
    _judge_suspension(prior, desired, name, result)
    restarts = [c for c in result.changes if c.kind is ChangeKind.RESTART]
    if restarts:
        what = ", ".join(f"{c.property} {c.old!r} → {_shown(c.new)}" for c in restarts)
        result.warnings.append(
            f"{what} restarts the instance: Render makes it unavailable for "
            f"{catalog.RESTART_DOWNTIME} while the change is applied"
        )


UNUSED_CONSENT_WARNING = (
    "allow_data_loss=True is set but nothing in this update needs it. Left on, it lets a "
    "later region or workspace change (a replacement) or a free → paid upgrade delete the "
    "instance's data without asking again: remove it now, and set it only in the update "
    "that needs it"
)


def unused_consent(desired: Mapping[str, Any], planned: PlannedChanges) -> bool:
    """Whether ``allowDataLoss`` is on while no planned change needs it.

    An unknown value that may replace the instance might need it: not unused.
    """
    if desired.get("allowDataLoss") is not True:
        return False
    may_replace = any(c.new is UNKNOWN for c in planned.changes if c.kind is ChangeKind.REPLACE)
    return not planned.uses_data_loss_consent and not may_replace


def _shown(value: Any) -> str:
    return "(known after apply)" if value is UNKNOWN else repr(value)


def _judge_replacement(
    replacing: list[Change],
    name: Any,
    protected: bool,
    allow_data_loss: bool,
    result: PlannedChanges,
) -> None:
    moves = ", ".join(f"{c.property} {c.old!r} → {_shown(c.new)}" for c in replacing)
    if any(c.new is UNKNOWN for c in replacing):
        # Possibly equal once known: diff reports a possible replacement; check judges it
        # during `pulumi up`, when the value is known.
        result.warnings.append(f"{moves} may replace the instance, losing its data")
    elif protected:
        result.rejections.append(
            Problem(
                replacing[0].property,
                f"changing {moves} replaces Key Value {name!r}, but deletionProtection is on; "
                "set deletion_protection=False in one `pulumi up` first",
            )
        )
    elif not allow_data_loss:
        result.rejections.append(
            Problem(
                replacing[0].property,
                f"changing {moves} cannot be done in place (Render cannot move an instance): "
                f"Pulumi would replace it, creating a new, empty instance and deleting "
                f"{name!r} with all its data; set allow_data_loss=True to accept that, or keep "
                "the old value and migrate the data yourself",
            )
        )
    else:
        result.uses_data_loss_consent = True
        result.warnings.append(
            f"{moves} replaces the instance: a new, empty instance is created and the old "
            "one deleted with all its data"
        )


def suspension_warning(name: Any, desired: Mapping[str, Any]) -> str:
    """What suspending costs: every client is refused; without persistence, the data too."""
    # Inferred, as the emulator does it: suspending stops the server, and only a snapshot or
    # journal on disk brings the data back when it starts again.
    kept = (
        "its data does not survive (persistenceMode is 'off', nothing is on disk)"
        if desired.get("persistenceMode") == catalog.PersistenceMode.OFF.value
        else "its data is kept"
    )
    return (
        f"suspended=True: Key Value {name!r} refuses every connection until suspended=False "
        f"resumes it; {kept}"
    )


def _judge_suspension(
    prior: Mapping[str, Any], desired: Mapping[str, Any], name: Any, result: PlannedChanges
) -> None:
    if result.suspends:
        result.warnings.append(suspension_warning(name, desired))
        return
    if result.resumes or _value(prior, "suspended") is not True or not result.patch:
        return  # a resume goes first (the provider orders it), so the PATCH is accepted
    # On each property that changes: `suspended` did not change, and pointing at it hid what
    # Render would refuse.
    for change in result.changes:
        if catalog.CHANGE_RULES[change.property].patch_field is None:
            continue
        result.rejections.append(
            Problem(
                change.property,
                f"Key Value {name!r} is suspended, and Render refuses changes to a suspended "
                f"instance, such as this {change.property} change. Set suspended=False in this "
                "update to resume it first (the change is applied once it is available), then "
                "suspend it again in a later `pulumi up` if it should stay suspended; or leave "
                "the change for later",
            )
        )


def _pin_persistence_off_free(
    old_plan: str, new_plan: str, desired: Mapping[str, Any], result: PlannedChanges
) -> None:
    """A PATCH that takes an instance off the free plan names the persistence asked for.

    Render switches persistence to ``journal_snapshot`` when an instance leaves free, unless
    the PATCH says otherwise (recorded: ``{"plan": "starter"}`` on a free instance turned
    ``off`` into ``journal_snapshot``). An explicit ``persistence_mode="off"`` equals the free
    plan's ``off``, so it is no change and would not be sent: Render and the state would then
    disagree, refresh would show drift, and the next up would restart the instance again.
    """
    persistence = desired.get("persistenceMode")
    if old_plan == Plan.FREE.value and new_plan != Plan.FREE.value and isinstance(persistence, str):
        result.pinned["persistenceMode"] = persistence


def _judge_plan(old: str, new: str, allow_data_loss: bool, result: PlannedChanges) -> None:
    old_rank, new_rank = catalog.plan_rank(old), catalog.plan_rank(new)
    if new_rank < old_rank:
        result.rejections.append(
            Problem(
                "plan",
                f"cannot change plan from {old!r} to {new!r}: Render plans can only be upgraded. "
                f"Keep {old!r}, or create a new instance on {new!r} and migrate the data to it",
            )
        )
    elif old == Plan.FREE.value and new != Plan.FREE.value:
        if allow_data_loss:
            result.uses_data_loss_consent = True
            result.warnings.append(
                f"upgrading plan 'free' → {new!r} deletes all data in the instance "
                "(free instances have no disk)"
            )
        else:
            result.rejections.append(
                Problem(
                    "plan",
                    f"upgrading from 'free' to {new!r} deletes all data in the instance "
                    "(Render wipes free instances when they move to a paid plan); "
                    "set allow_data_loss=True to accept that",
                )
            )
