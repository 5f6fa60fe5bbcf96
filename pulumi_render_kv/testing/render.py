"""An :class:`~.model.OperationResult` as plain text, in the manner of ``pulumi preview --diff``.

It follows the CLI's layout (the step table with ``[diff: ...]``, per-resource property diffs,
diagnostics, the resource summary) closely enough for a demo or a test log. It is not the
CLI's display: no colours, no progress, no column sizing beyond padding.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

from . import _values
from .model import OperationResult, PropertyChange, StepResult

_PREFIX = {
    "create": "+ ",
    "same": "  ",
    "update": "~ ",
    "replace": "+-",
    "delete": "- ",
    "read": "> ",
    "read-replacement": ">>",
    "discard": "< ",
    "import": "= ",
}
_FUTURE = {
    "create": "to create",
    "update": "to update",
    "replace": "to replace",
    "delete": "to delete",
    "read": "to read",
    "read-replacement": "to read-replace",
    "discard": "to discard",
    "import": "to import",
}
_PAST = {
    "create": "created",
    "update": "updated",
    "replace": "replaced",
    "delete": "deleted",
    "read": "read",
    "read-replacement": "read-replaced",
    "discard": "discarded",
    "import": "imported",
}
_HEADERS = {
    "preview": "Previewing update ({stack}):",
    "up": "Updating ({stack}):",
    "refresh": "Refreshing ({stack}):",
    "destroy": "Destroying ({stack}):",
    "read": "Updating ({stack}):",
    "import": "Importing ({stack}):",
}
_KIND_MARK = {"add": "+", "delete": "-", "update": "~"}


def format_value(value: Any) -> str:  # noqa: PLR0911 -- one return per value kind
    """One property value as the display shows it: secrets ``[secret]``, unknowns ``[unknown]``."""
    if _values.is_secret(value):
        return "[secret]"
    if value == _values.UNKNOWN:
        return "[unknown]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _values.format_number(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, Mapping):
        inner = ", ".join(f"{k}: {format_value(v)}" for k, v in value.items())
        return "{" + inner + "}"
    if isinstance(value, list):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


def _diff_info(step: StepResult) -> str:
    if step.op not in ("update", "replace", "read-replacement") or not step.changes:
        return ""
    return "[diff: " + "".join(f"{_KIND_MARK[c.kind]}{c.key}" for c in step.changes) + "]"


def _change_lines(change: PropertyChange, width: int) -> str:
    key = change.key.ljust(width)
    if change.kind == "add":
        return f"    + {key}: {format_value(change.new)}"
    if change.kind == "delete":
        return f"    - {key}: {format_value(change.old)}"
    return f"    ~ {key}: {format_value(change.old)} => {format_value(change.new)}"


def _details(step: StepResult) -> list[str]:
    prefix = _PREFIX.get(step.op, "  ")
    lines = [f"  {prefix}{step.type}: ({step.op})"]
    if step.id:
        lines.append(f"        [id={step.id}]")
    lines.append(f"        [urn={step.urn}]")
    if step.op in ("replace", "read-replacement") and step.replace_keys:
        lines.append(f"        [replace: {', '.join(step.replace_keys)}]")
    width = max((len(c.key) for c in step.changes), default=0)
    lines.extend(_change_lines(change, width) for change in step.changes)
    return lines


def render_plan(plan: OperationResult, *, diff: bool = True) -> str:
    """Render ``plan`` as text like the CLI's ``--diff`` output (``diff=False``: table only)."""
    stack_name = f"{plan.project}-{plan.stack}"
    lines = [_HEADERS.get(plan.operation, "{stack}:").format(stack=plan.stack), ""]

    rows = [("", "pulumi:pulumi:Stack", stack_name, "", "")]
    for step in plan.steps:
        info = _diff_info(step)
        if step.failures:
            count = len(step.failures)
            info = f"{count} error{'s' if count > 1 else ''}"
        rows.append((_PREFIX.get(step.op, "  "), step.type, step.name, step.op, info))
    type_width = max(len(r[1]) for r in rows)
    name_width = max(len(r[2]) for r in rows)
    lines.append(f"     {'Type'.ljust(type_width)}  {'Name'.ljust(name_width)}  OperationResult")
    for prefix, type_, name, op, info in rows:
        row = f" {prefix or '  '}  {type_.ljust(type_width)}  {name.ljust(name_width)}  {op}"
        if info:
            row = f"{row.ljust(len(row) + 1)} {info}"
        lines.append(row.rstrip())

    if diff:
        detailed = [s for s in plan.steps if s.op not in ("same", "read")]
        if detailed:
            lines.append("")
            for step in detailed:
                lines.extend(_details(step))

    diagnostics = list(plan.diagnostics)
    warnings = [w for s in plan.steps for w in s.warnings]
    if diagnostics or warnings or plan.stderr:
        lines += ["", "Diagnostics:", f"  pulumi:pulumi:Stack ({stack_name}):"]
        lines.extend(f"    {line}" for line in plan.stderr)
        lines.extend(f"    warning: {w}" for w in warnings)
        lines.extend(f"    error: {d}" for d in diagnostics)

    counts = Counter(s.op for s in plan.steps)
    words = _FUTURE if plan.operation == "preview" else _PAST
    lines += ["", "Resources:"]
    changes = 0
    for op, word in words.items():
        if counts.get(op):
            changes += counts[op]
            lines.append(f"    {_PREFIX[op]}{counts[op]} {word}")
    tail = f"{changes} change{'s' if changes != 1 else ''}" if changes else ""
    same = counts.get("same", 0)
    if same:
        tail = f"{tail}. {same} unchanged" if tail else f"{same} unchanged"
    if tail:
        lines.append(f"    {tail}")
    return "\n".join(lines) + "\n"
