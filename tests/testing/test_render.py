"""render_plan: the --diff-like text the demo prints."""

from __future__ import annotations

from typing import Any

from pulumi_render_kv.testing import (
    UNKNOWN,
    CheckFailure,
    OperationResult,
    PropertyChange,
    StepResult,
    format_value,
    render_plan,
    secret,
)

TYPE = "pulumi-python:dynamic/memprov:MemResource"


def step(op: str, name: str, *changes: PropertyChange, **extra: Any) -> StepResult:
    urn = f"urn:pulumi:dev::proj::{TYPE}::{name}"
    return StepResult(op=op, type=TYPE, name=name, urn=urn, changes=changes, **extra)


def test_preview_rendering_shows_ops_diff_keys_and_hides_secrets() -> None:
    """Creates, updates and replaces get the CLI's markers, [diff: ...] and [secret]."""
    plan = OperationResult(
        operation="preview",
        project="proj",
        stack="dev",
        steps=(
            step("create", "new", PropertyChange("token", "add", None, secret("hunter2"))),
            step("update", "grow", PropertyChange("size", "update", 1.0, 2.0), id="obj-1"),
            step(
                "replace",
                "move",
                PropertyChange("plan", "update", "starter", "pro"),
                id="obj-2",
                replace_keys=("plan",),
            ),
            step("same", "kept"),
        ),
    )
    text = render_plan(plan)
    assert "hunter2" not in text
    assert "token: [secret]" in text
    lines = text.splitlines()
    assert any(line.startswith(" +-") and "[diff: ~plan]" in line for line in lines)
    assert any(line.startswith(" ~ ") and "[diff: ~size]" in line for line in lines)
    assert "    ~ size: 1 => 2" in lines
    assert '    ~ plan: "starter" => "pro"' in lines
    assert "    + 1 to create" in lines
    assert "    +-1 to replace" in lines
    assert lines[-1] == "    3 changes. 1 unchanged"


def test_table_only_rendering_and_past_tense_after_up() -> None:
    """diff=False leaves out property details; an up reports what was done."""
    plan = OperationResult(
        operation="up",
        project="proj",
        stack="dev",
        steps=(step("update", "grow", PropertyChange("size", "update", 1.0, 2.0)),),
    )
    text = render_plan(plan, diff=False)
    assert "size: 1 => 2" not in text
    assert "[diff: ~size]" in text
    assert "    ~ 1 updated" in text.splitlines()


def test_failures_and_provider_output_appear_as_diagnostics() -> None:
    """Check failures print as the CLI's error lines; provider stderr is listed too."""
    failure = CheckFailure(TYPE, "bad", "size", "size must be a positive number", -1.0)
    plan = OperationResult(
        operation="preview",
        project="proj",
        stack="dev",
        steps=(step("create", "bad", failures=(failure,)),),
        stderr=("provider says hi",),
    )
    text = render_plan(plan)
    assert "bad" in text
    assert "1 error" in text
    assert "    provider says hi" in text
    assert (
        f"    error: {TYPE} resource 'bad': property size value {{-1}} has a problem: "
        "size must be a positive number"
    ) in text


def test_values_format_like_the_display() -> None:
    """Strings are quoted, integral floats print as integers, unknowns as [unknown]."""
    assert format_value("a") == '"a"'
    assert format_value(3.0) == "3"
    assert format_value(2.5) == "2.5"
    assert format_value(UNKNOWN) == "[unknown]"
    assert format_value({"k": [True, secret("x")]}) == "{k: [true, [secret]]}"
