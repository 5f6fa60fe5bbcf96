"""render-kv-import --yaml without an engine: the Pulumi YAML project it writes.

The generated resources are driven through the real provider in
tests/native/test_blueprint_yaml.py, and under the Pulumi CLI in
tests/cli/test_blueprint_yaml_cli.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from pulumi_render_kv.blueprint import main, read_blueprint, render_yaml_program
from pulumi_render_kv.native.schema import KEY_VALUE, package_schema

SCHEMA = package_schema()
INPUTS = set(SCHEMA["resources"][KEY_VALUE]["inputProperties"])
ALLOW_ENTRY = set(SCHEMA["types"]["render-kv:index:IpAllowEntry"]["properties"])

BLUEPRINT = """\
services:
  - type: keyvalue
    name: cache
    plan: pro plus
    maxmemoryPolicy: volatile-lru
    ipAllowList:
      - source: 203.0.113.0/24
        description: "office ${not.a.reference} $5"
      - source: 198.51.100.7
  - type: redis
    name: pulumi
    region: frankfurt
    ipAllowList: []
  - {type: keyvalue, name: sessions, ipAllowList: []}
  - {type: keyvalue, name: sessions, region: frankfurt, ipAllowList: []}
"""


def _program(text: str = BLUEPRINT, **options: Any) -> dict[str, Any]:
    loaded = yaml.safe_load(
        render_yaml_program(read_blueprint(text), "render.yaml", "kv", **options)
    )
    assert isinstance(loaded, dict)
    return loaded


def _by_name(program: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Resources by their Pulumi name (the resource's ``name:``, else its key)."""
    return {r.get("name", key): r for key, r in program["resources"].items()}


def test_the_project_runs_yaml_with_the_provider_folder() -> None:
    program = _program(provider_path="../kv-provider")
    assert program["name"] == "kv"
    assert program["runtime"] == "yaml"
    assert program["plugins"] == {"providers": [{"name": "render-kv", "path": "../kv-provider"}]}


def test_each_service_is_an_adopted_keyvalue_in_the_apis_spelling() -> None:
    resources = _by_name(_program())
    assert list(resources) == ["cache", "pulumi", "sessions-oregon", "sessions-frankfurt"]
    assert {r["type"] for r in resources.values()} == {KEY_VALUE}
    cache = resources["cache"]["properties"]
    assert cache == {
        "name": "cache",
        "plan": "pro_plus",
        "region": "oregon",
        "maxmemoryPolicy": "volatile_lru",
        "ipAllowList": [
            # `$` doubled: Pulumi YAML reads `$${` as the text `${`, `$$` as `$`.
            {"cidrBlock": "203.0.113.0/24", "description": "office $${not.a.reference} $$5"},
            {"cidrBlock": "198.51.100.7/32", "description": ""},
        ],
        "suspended": "as-is",
        "logStream": "as-is",
        "adoptExisting": True,
    }
    frankfurt = resources["sessions-frankfurt"]["properties"]
    assert (frankfurt["name"], frankfurt["region"]) == ("sessions", "frankfurt")
    assert resources["pulumi"]["properties"]["ipAllowList"] == []
    assert all("options" not in r for r in resources.values())


def test_every_property_is_an_input_of_the_schema() -> None:
    for resource in _program(protect=True)["resources"].values():
        assert set(resource["properties"]) <= INPUTS, set(resource["properties"]) - INPUTS
        for entry in resource["properties"]["ipAllowList"]:
            assert set(entry) <= ALLOW_ENTRY
        assert set(resource) <= {"type", "name", "properties", "options"}


def test_protect_sets_deletion_protection_and_pulumis_protect() -> None:
    for resource in _program(protect=True)["resources"].values():
        assert resource["properties"]["deletionProtection"] is True
        assert resource["options"] == {"protect": True}


def test_outputs_are_the_blueprints_from_service_properties() -> None:
    program = _program()
    keys = {r.get("name", key): key for key, r in program["resources"].items()}
    assert program["outputs"]["cache.connectionString"] == "${cache.internalConnectionString}"
    key = keys["sessions-frankfurt"]
    assert program["outputs"]["sessions-frankfurt.host"] == f"${{{key}.host}}"
    assert program["outputs"]["sessions-frankfurt.port"] == f"${{{key}.port}}"
    assert len(program["outputs"]) == 3 * len(keys)


AWKWARD = """\
x: &kv {type: keyvalue, ipAllowList: []}
services:
  - {<<: *kv, name: "a.b"}
  - {<<: *kv, name: "a-b"}
  - {<<: *kv, name: "${x}"}
  - {<<: *kv, name: "cache\u00b2"}
  - {<<: *kv, name: "line\\nbreak"}
  - {<<: *kv, name: 2024}
"""


def test_keys_are_identifiers_an_interpolation_parses_and_names_survive() -> None:
    program = _program(AWKWARD)
    for key in program["resources"]:
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key), key
    names = [r.get("name", key) for key, r in program["resources"].items()]
    assert names == ["a.b", "a-b", "$${x}", "cache\u00b2", "line\nbreak", "2024"]
    assert len(set(program["resources"])) == len(names)
    for key, resource in program["resources"].items():
        assert program["outputs"][f"{resource.get('name', key)}.host"] == f"${{{key}.host}}"


def test_the_header_is_all_comment_whatever_the_file_is_called() -> None:
    text = render_yaml_program(read_blueprint(BLUEPRINT), "odd\nname: x.yaml", "kv")
    header = text.split("name: kv\n", 1)[0]
    assert header
    assert all(line.startswith("#") for line in header.splitlines())
    assert "render-kv-provider ./provider" in header


def _run(tmp_path: Path, *options: str) -> int:
    (tmp_path / "render.yaml").write_text(BLUEPRINT)
    return main([str(tmp_path / "render.yaml"), "-o", str(tmp_path / "infra"), *options])


def test_the_flag_writes_only_pulumi_yaml_and_says_how_to_make_the_provider(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(tmp_path, "--yaml", "--protect") == 0
    assert sorted(p.name for p in (tmp_path / "infra").iterdir()) == ["Pulumi.yaml"]
    program = yaml.safe_load((tmp_path / "infra" / "Pulumi.yaml").read_text())
    assert program["name"] == "infra"  # the directory's name without --project
    assert all(r["options"] == {"protect": True} for r in program["resources"].values())
    out = capsys.readouterr().out
    assert f"render-kv-provider {tmp_path / 'infra' / 'provider'}" in out


def test_the_flag_keeps_the_project_rules_and_refuses_python_only_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(tmp_path, "--yaml", "--project", "my kv") == 2
    assert "alphanumerics" in capsys.readouterr().err
    assert _run(tmp_path, "--yaml", "--requirement", "pulumi-render-kv") == 2
    assert _run(tmp_path, "--yaml", "--virtualenv", "venv") == 2
    assert _run(tmp_path, "--provider-path", "p") == 2  # without --yaml
    assert not (tmp_path / "infra").exists()
    assert _run(tmp_path, "--yaml", "--project", "my-kv") == 0
    assert _run(tmp_path, "--yaml", "--project", "my-kv") == 1  # exists, no --force
    assert _run(tmp_path, "--yaml", "--project", "my-kv", "--force") == 0
