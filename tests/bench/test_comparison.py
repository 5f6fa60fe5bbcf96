"""The side-by-side benchmark's pure parts: request-log summaries, statuses and the tables."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    # benchmarks/ is a folder of scripts, not a package: load the module from its file.
    spec = importlib.util.spec_from_file_location(
        "bench_comparison", ROOT / "benchmarks" / "_comparison.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


comparison = _load()

CREATE = comparison.Operation("create 1")
DOWNGRADE = comparison.Operation("refused downgrade", expect_success=False)


def _log(*requests: tuple[str, str, int]) -> list[dict[str, object]]:
    return [
        {"method": m, "path": p, "query": "", "status": s, "fault": None, "requestId": "r"}
        for m, p, s in requests
    ]


def test_paths_lose_the_version_prefix_and_their_ids() -> None:
    assert comparison.generic_path("/v1/key-value/red-abc123/connection-info") == (
        "/key-value/{id}/connection-info"
    )
    assert comparison.generic_path("/v1/environments/evm-x9/resources") == (
        "/environments/{env}/resources"
    )
    assert comparison.generic_path("/v1/key-value") == "/key-value"


def test_requests_are_counted_by_method_and_route_most_frequent_first() -> None:
    summary = comparison.summarise_requests(
        _log(
            ("POST", "/v1/key-value", 201),
            ("GET", "/v1/key-value/red-a", 200),
            ("GET", "/v1/key-value/red-b", 200),
            ("GET", "/v1/key-value/red-a/connection-info", 200),
            ("PATCH", "/v1/key-value/red-a", 400),
        )
    )
    assert summary.total == 5
    assert summary.errors == 1
    assert summary.describe() == (
        "2 GET /key-value/{id}, 1 GET /key-value/{id}/connection-info, "
        "1 PATCH /key-value/{id}, 1 POST /key-value"
    )


def test_no_requests_reads_as_a_dash() -> None:
    summary = comparison.summarise_requests([])
    assert (summary.total, summary.describe()) == (0, "-")


def test_statuses_are_one_word_for_one_instance_and_counted_for_many() -> None:
    assert comparison.status_summary(["creating"]) == "creating"
    assert comparison.status_summary(["creating"] * 3) == "3 creating"
    assert (
        comparison.status_summary(["available", "config_restart", "available"])
        == "2 available, 1 config_restart"
    )
    assert comparison.status_summary([]) == "-"


def _measurement(
    tool: str, operation: object, wall: float, ping: float | None, code: int = 0
) -> Any:
    return comparison.Measurement(
        tool=tool,
        operation=operation,
        wall_s=wall,
        exit_code=code,
        requests=comparison.summarise_requests(_log(("POST", "/v1/key-value", 201))),
        statuses=("creating",),
        ping_s=ping,
        refused_at="apply" if code else "",
    )


def test_usable_is_wall_plus_ping_and_refusals_are_told_apart_from_failures() -> None:
    made = _measurement("terraform", CREATE, 0.4, 9.9)
    assert made.usable_s == 0.4 + 9.9
    assert made.outcome == "ok"
    assert _measurement("terraform", DOWNGRADE, 0.7, None, code=1).outcome == (
        "refused at apply (exit 1)"
    )
    assert _measurement("pulumi", CREATE, 3.0, None, code=255).outcome == (
        "FAILED at apply (exit 255)"
    )
    assert _measurement("pulumi", DOWNGRADE, 1.0, None).outcome == "ok (accepted!)"


def test_the_document_says_it_is_generated_and_compares_time_to_usable() -> None:
    runs = [
        comparison.ToolRun("terraform", "1.11", [_measurement("terraform", CREATE, 0.4, 9.9)]),
        comparison.ToolRun("pulumi", "3.0", [_measurement("pulumi", CREATE, 10.2, 0.0)]),
        comparison.ToolRun("tofu", "", skipped="`tofu` is not on PATH"),
    ]
    doc = comparison.render_document(
        runs, preamble=["intro"], setup=["D = 10 s"], baseline="terraform", challenger="pulumi"
    )
    assert "written by make bench-vs-terraform" in doc
    assert "do not edit" in doc
    assert "- **tofu** did not run: `tofu` is not on PATH" in doc
    assert "| create 1 | usable | 0.4 + 9.9 = 10.3 | 10.2 + 0.0 = 10.2 | 0.99 |" in doc
    assert (
        "| create 1 | terraform | 0.4 | ok | 1 | 1 POST /key-value | creating | 9.9 | 10.3 |" in doc
    )
    # Operations group their tools together, in the job's order.
    assert doc.index("| create 1 | terraform |") < doc.index("| create 1 | pulumi |")


def test_the_text_table_pads_every_column() -> None:
    table = comparison.text_table(["a", "bb"], [["xyz", "1"], ["q", "22"]])
    assert table.splitlines() == ["a   | bb", "----+---", "xyz | 1", "q   | 22"]


def test_refusals_are_compared_by_wall_time_and_creates_by_time_to_usable() -> None:
    runs = [
        comparison.ToolRun(
            "terraform",
            "1.11",
            [
                _measurement("terraform", CREATE, 0.5, 9.5),
                _measurement("terraform", DOWNGRADE, 2.0, 0.0, code=1),
            ],
        ),
        comparison.ToolRun(
            "pulumi",
            "3",
            [
                _measurement("pulumi", CREATE, 11.0, 0.0),
                _measurement("pulumi", DOWNGRADE, 1.0, 0.0, code=1),
            ],
        ),
    ]
    rows = comparison.face_off_rows(runs, "terraform", "pulumi")
    assert rows == [
        ["create 1", "usable", "0.5 + 9.5 = 10.0", "11.0 + 0.0 = 11.0", "1.10"],
        [
            "refused downgrade",
            "wall",
            "2.0 (refused at apply (exit 1))",
            "1.0 (refused at apply (exit 1))",
            "0.50",
        ],
    ]


def test_the_first_error_of_terraform_carries_its_detail() -> None:
    output = (
        "Plan: 0 to add, 1 to change, 0 to destroy.\n"
        "render_keyvalue.kv1: Modifying... [id=red-abc]\n"
        "\n"
        "Error: Error updating keyvalue\n"
        "\n"
        "  with render_keyvalue.kv1,\n"
        '  on main.tf line 9, in resource "render_keyvalue" "kv1":\n'
        '   9: resource "render_keyvalue" "kv1" {\n'
        "\n"
        "cannot change plan from standard to starter: Key Value instances can only be\n"
        "upgraded\n"
        "\n"
        "Error: a second one\n"
    )
    assert comparison.first_error(output) == (
        "Error: Error updating keyvalue: cannot change plan from standard to starter: "
        "Key Value instances can only be upgraded"
    )


def test_the_first_error_of_pulumi_is_its_line() -> None:
    output = "Previewing update (bench):\nerror: resource 'kv1' has a problem\n    more\n"
    assert comparison.first_error(output) == "error: resource 'kv1' has a problem"
    assert comparison.first_error("all fine") == ""
