"""The crash and contest rows of ``docs/RELIABILITY.md``, each tied to the test that proves it.

Some of these need the real Pulumi CLI (``tests/cli``, skipped where none is on PATH); the
rest run everywhere. This file checks that every test a row names exists, so the table
cannot outlive its proof.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Crash:
    what: str
    test: str  # path::function
    outcome: str


_ADOPT = (
    "the next `up` POSTs nothing: `NameTaken` names each instance and "
    "`RENDER_KV_ADOPT=<ids> pulumi up`, which takes them over (one instance per resource)"
)
CRASHES = (
    Crash(
        "`kill -9` of `pulumi up` while 3 creates wait for `available`",
        "tests/cli/test_interrupted.py::test_an_interrupted_create_leaves_no_provider_and_the_next_up_no_twin",
        "the provider exits within 15 s; the file backend stays locked until `pulumi cancel`; "
        + _ADOPT
        + "; `pulumi refresh --clear-pending-creates` ends the pending-operation warnings; "
        "`preview --expect-no-changes` passes",
    ),
    Crash(
        "Ctrl-C twice during the same",
        "tests/cli/test_interrupted.py::test_an_interrupted_create_leaves_no_provider_and_the_next_up_no_twin",
        "as for `kill -9`",
    ),
    Crash(
        "the engine killed (the provider's view), under the SDK's shell shim and directly",
        "tests/provider/test_watchdog.py::test_the_provider_exits_when_its_engine_is_killed",
        "the provider sees its engine's pipe close or its parent go and exits (mid-create too: "
        "the pending Create fails UNAVAILABLE instead of polling Render)",
    ),
    Crash(
        "`kill -9` mid-update (a restarting PATCH waiting for `available`)",
        "tests/cli/test_interrupted.py::test_kill_9_mid_update_then_up_converges",
        "the next `up` sends the PATCH again (it repeats safely) and records it; "
        "`preview --expect-no-changes` passes",
    ),
    Crash(
        "`kill -9` mid-destroy (the DELETE in flight)",
        "tests/cli/test_interrupted.py::test_kill_9_mid_destroy_then_destroy_converges",
        "the next `destroy` finishes (a 404 counts as gone): no instance, no resource in state",
    ),
    Crash(
        "the API key revoked between the POST and the wait (401 on the status read)",
        "tests/acceptance/test_never_lose.py::test_a_create_whose_wait_failed_is_not_created_again",
        "`CreateIncomplete` naming the instance and the command; " + _ADOPT,
    ),
    Crash(
        "`wait_timeout` runs out during a create",
        "tests/acceptance/test_never_lose.py::test_a_create_past_its_wait_timeout_is_not_created_again",
        "`WaitTimedOut` inside `CreateIncomplete`; " + _ADOPT,
    ),
    Crash(
        "two stacks of one program with the same names, one after the other",
        "tests/cli/test_interrupted.py::test_a_second_stack_with_the_same_names_stops_before_its_post",
        "the second stops with `NameTaken` before any POST and says to prefix names with the "
        "stack; the first's instances are untouched",
    ),
    Crash(
        "two stacks create one name at once; ours answers 503, theirs lands inside our window",
        "tests/client/test_retry.py::test_another_stacks_same_name_instance_in_our_window_is_not_taken",
        "named as a candidate, not taken over, nothing posted again",
    ),
    Crash(
        "a resource renamed without an alias while `adopt_existing=True` is set",
        "tests/cli/test_interrupted.py::test_renaming_an_adopting_resource_deletes_nothing",
        "0 DELETEs: the instance and its data stay with the renamed resource; the old record "
        "leaves state",
    ),
    Crash(
        "two resources of one program adopting one instance",
        "tests/acceptance/test_never_lose.py::test_two_resources_adopting_one_instance_is_refused",
        "the second is refused (`InstanceHeld`); dropping it from the program deletes nothing",
    ),
    Crash(
        "a 429 storm longer than the retry budget",
        "tests/suites/test_faults.py::test_storm",
        "see the fault matrix's storm rows: the call retries until its deadline, then one "
        "sentence says so and what to run",
    ),
)


def doc_rows() -> list[tuple[str, str, str]]:
    return [(c.what, f"`{c.test.split('::', 1)[0]}`", c.outcome) for c in CRASHES]


@pytest.mark.parametrize("crash", CRASHES, ids=lambda c: c.test.rsplit("::", 1)[-1])
def test_each_row_names_a_test_that_exists(crash: Crash) -> None:
    path, function = crash.test.split("::")
    tree = ast.parse((ROOT / path).read_text())
    defined = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    assert function in defined, f"{crash.what}: {crash.test} does not exist"
