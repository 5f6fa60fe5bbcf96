"""render-kv-import without an engine: reading Blueprints, line-numbered errors, writing files.

The generated programs are run against the emulator in tests/acceptance/test_blueprint_import.py.
"""

from __future__ import annotations

import ast
from pathlib import Path
from textwrap import dedent

import pytest
import yaml

from pulumi_render_kv.blueprint import BlueprintError, main, read_blueprint, render_program

OFFICE = """\
services:
  - type: web                      # line 2: not a Key Value, ignored with a note
    name: api
    runtime: python
  - type: keyvalue                 # line 5
    name: thunder
    ipAllowList:
      - source: 203.0.113.4/30
        description: office
      - source: 198.51.100.7       # a bare address: /32, as the provider reads it
    region: Frankfurt
    plan: pro plus
    previewPlan: starter
    maxmemoryPolicy: volatile-lru
  - type: redis                    # line 15: the deprecated alias
    name: jobs
    ipAllowList: []
    maxmemoryPolicy: noeviction
databases:
  - name: db
"""


def problems(text: str) -> list[str]:
    with pytest.raises(BlueprintError) as caught:
        read_blueprint(dedent(text), "render.yaml")
    return [p.format("render.yaml") for p in caught.value.problems]


def test_reads_key_value_services_with_canonical_values_and_defaults() -> None:
    blueprint = read_blueprint(OFFICE)
    thunder, jobs = blueprint.services
    assert (thunder.name, thunder.type, thunder.line) == ("thunder", "keyvalue", 5)
    assert (thunder.plan, thunder.region, thunder.maxmemory_policy) == (
        "pro_plus",
        "frankfurt",
        "volatile_lru",
    )
    assert [(e.cidr_block, e.description) for e in thunder.ip_allow_list] == [
        ("203.0.113.4/30", "office"),
        ("198.51.100.7/32", ""),
    ]
    assert thunder.defaulted == ()
    assert (jobs.type, jobs.plan, jobs.region, jobs.maxmemory_policy) == (
        "redis",
        "starter",
        "oregon",
        "noeviction",
    )
    assert jobs.defaulted == ("plan", "region")
    assert jobs.ip_allow_list == ()
    assert blueprint.notes == [
        "render.yaml:2: services[0]: web service 'api' ignored: not a Key Value",
        "render.yaml:13: services[1] ('thunder').previewPlan: ignored: preview environments "
        "are Render's, not this program's",
        "render.yaml:15: services[2] ('jobs').type: 'redis' is the deprecated name of 'keyvalue'",
        "render.yaml:19: databases: ignored: only Key Value services are imported",
    ]


def test_blueprint_default_policy_is_allkeys_lru() -> None:
    (kv,) = read_blueprint("services:\n- {type: keyvalue, name: c, ipAllowList: []}\n").services
    assert (kv.plan, kv.region, kv.maxmemory_policy) == ("starter", "oregon", "allkeys_lru")
    assert kv.defaulted == ("plan", "region", "maxmemoryPolicy")


AS_IS_INPUTS = ("suspended", "log_stream")


def test_the_program_is_python_with_one_adopted_resource_and_three_outputs_each() -> None:
    program = render_program(read_blueprint(OFFICE), "render.yaml")
    tree = ast.parse(program)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    resources = [c for c in calls if ast.unparse(c.func) == "render_kv.KeyValue"]
    assert len(resources) == 2
    for call in resources:
        keywords = {
            k.arg: ast.unparse(k.value) if k.arg in AS_IS_INPUTS else ast.literal_eval(k.value)
            for k in call.keywords
            if k.arg != "ip_allow_list"
        }
        assert keywords["adopt_existing"] is True
        # What a Blueprint cannot state is left as it is in the Dashboard.
        assert {k: keywords[k] for k in AS_IS_INPUTS} == dict.fromkeys(
            AS_IS_INPUTS, "render_kv.AS_IS"
        )
    exports = [ast.literal_eval(c.args[0]) for c in calls if ast.unparse(c.func) == "pulumi.export"]
    assert exports == [
        "thunder.connectionString", "thunder.host", "thunder.port",
        "jobs.connectionString", "jobs.host", "jobs.port",
    ]  # fmt: skip
    assert 'cidr_block="198.51.100.7/32", description=""' in program
    assert "thunder.internal_connection_string" in program


def test_names_become_identifiers_and_strings_stay_literal() -> None:
    text = (
        'services:\n- {type: keyvalue, name: "2nd-cache\\"x", ipAllowList: '
        '[{source: 10.0.0.0/8, description: "it\'s \\"ours\\""}]}\n'
    )
    program = render_program(read_blueprint(text), "render.yaml")
    ast.parse(program)
    assert 'kv_2nd_cache_x = render_kv.KeyValue(\n    "2nd-cache\\"x",' in program
    assert 'description="it\'s \\"ours\\""' in program


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # an unknown field, with a suggestion
            """\
            services:
              - type: keyvalue
                name: c
                ipAllowList: []
                maxMemoryPolicy: allkeys-lru
            """,
            "render.yaml:5: services[0] ('c').maxMemoryPolicy: is not a Key Value field of a "
            "Blueprint; did you mean 'maxmemoryPolicy'?; known: type, name, plan, previewPlan, "
            "region, maxmemoryPolicy, ipAllowList",
        ),
        (  # Render requires ipAllowList for Key Value: we do not guess the live instance's
            """\
            services:
              - type: keyvalue
                name: c
            """,
            "render.yaml:2: services[0] ('c'): has no ipAllowList:, which Render requires for "
            "Key Value; add `ipAllowList: []` for internal connections only, or the CIDR blocks "
            "(- source: 203.0.113.0/24) the live instance admits",
        ),
        (
            """\
            services:
              - type: keyvalue
                name: c
                ipAllowList:
                  - source: 203.0.113.5/30
            """,
            "render.yaml:5: services[0] ('c').ipAllowList[0].source: '203.0.113.5/30' has host "
            "bits set; did you mean 203.0.113.4/30?",
        ),
        (
            """\
            services:
              - type: keyvalue
                name: c
                ipAllowList:
                  - cidrBlock: 10.0.0.0/8
            """,
            "render.yaml:5: services[0] ('c').ipAllowList[0].cidrBlock: is not an ipAllowList "
            "field (Blueprints say source:, the API cidrBlock); known: source, description",
        ),
        (
            """\
            services:
              - type: keyvalue
                name: c
                ipAllowList: []
                maxmemoryPolicy: allkeys-lur
            """,
            "render.yaml:5: services[0] ('c').maxmemoryPolicy: 'allkeys-lur' must be one of "
            "noeviction, allkeys_lfu, allkeys_lru, allkeys_random, volatile_lfu, volatile_lru, "
            "volatile_random, volatile_ttl; did you mean 'allkeys_lru'?",
        ),
        (
            """\
            services:
              - type: keyvalue
                name: c
                ipAllowList: []
                plan: enterprise
                region: tokyo
            """,
            "render.yaml:5: services[0] ('c').plan: 'enterprise' must be one of free, starter, "
            "standard, pro, pro_plus, custom…",
        ),
        (
            """\
            services:
              - type: keyvalue
                name: c
                ipAllowList: []
              - type: redis
                name: c
                ipAllowList: []
            """,
            "render.yaml:5: service 'c': the name is used twice (also line 2); Render names are "
            "unique per workspace and region here",
        ),
        (
            """\
            services:
              - type: keyvalue
                name: c
                name: d
                ipAllowList: []
            """,
            "render.yaml:4: services[0].name: is given twice (also line 3)",
        ),
        (
            """\
            services:
              - type: web
                name: api
            """,
            "render.yaml:1: services: has no Key Value service (type: keyvalue or redis): "
            "nothing to import",
        ),
        (
            """\
            projects:
              - name: shop
                environments:
                  - name: production
                    services:
                      - type: keyvalue
                        name: c
                        ipAllowList: []
            services: []
            """,
            "render.yaml:6: projects[0].environments[0].services[0]: a Key Value inside a "
            "project environment is not supported: the Blueprint does not give the "
            "environment's evm-… id; move it to the top-level services: list for the import and "
            "set environment_id= in the generated program",
        ),
        (
            "services:\n  - type: keyvalue\n   name: x\n",
            "render.yaml:3: (YAML): expected <block end>",
        ),
        ("", "render.yaml:1: (file): is empty: a Blueprint has a services: list"),
    ],
)
def test_bad_blueprints_fail_with_line_numbers(text: str, expected: str) -> None:
    found = problems(text)
    assert any(p.startswith(expected) for p in found), found


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        """\
        services:
          - type: keyvalue
            name: a
            region: mars
            ipAllowList: [{source: not-an-ip}]
          - type: keyvalue
            name: b
        """
    )
    assert [int(p.split(":")[1]) for p in found] == [4, 5, 6]


# --- the console script ------------------------------------------------------------------------


def test_cli_writes_program_and_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "render.yaml").write_text(OFFICE)
    out = tmp_path / "infra"
    assert (
        main(
            [
                str(tmp_path / "render.yaml"),
                "-o",
                str(out),
                "--project",
                "kv",
                "--virtualenv",
                "../.venv",
            ]
        )
        == 0
    )
    assert ast.parse((out / "__main__.py").read_text())
    project = yaml.safe_load((out / "Pulumi.yaml").read_text())
    assert project["name"] == "kv"
    assert project["runtime"] == {
        "name": "python",
        "options": {"toolchain": "pip", "virtualenv": "../.venv"},
    }
    captured = capsys.readouterr()
    assert "2 Key Value service(s) to adopt: thunder, jobs" in captured.out
    assert "web service 'api' ignored" in captured.err
    # A second run does not overwrite without --force, and says so.
    assert main([str(tmp_path / "render.yaml"), "-o", str(out)]) == 1
    assert "exists; pass --force" in capsys.readouterr().err
    assert main([str(tmp_path / "render.yaml"), "-o", str(out), "--force"]) == 0


def test_cli_writes_nothing_on_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blueprint = tmp_path / "render.yaml"
    blueprint.write_text("services:\n  - type: keyvalue\n    name: c\n    plan: huge\n")
    out = tmp_path / "infra"
    assert main([str(blueprint), "-o", str(out), "--project", "kv"]) == 1
    assert not out.exists()
    err = capsys.readouterr().err
    assert f"{blueprint}:4: services[0] ('c').plan: 'huge' must be one of" in err
    assert f"{blueprint}:2: services[0] ('c'): has no ipAllowList:" in err
    assert err.rstrip().endswith("nothing was written")
    assert main([str(tmp_path / "missing.yaml")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_no_blueprint_text_can_become_code() -> None:
    text = 'services:\n- {type: keyvalue, name: "x\\nimport os", ipAllowList: []}\n'
    program = render_program(read_blueprint(text), 'evil"""\nimport sys.yaml')
    tree = ast.parse(program)
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert imported == {"pulumi", "pulumi_render_kv"}
    assert '# "x\\nimport os": type keyvalue at "evil\\"\\"\\"\\nimport sys.yaml" line 2' in program
