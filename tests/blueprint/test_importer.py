"""render-kv-import without an engine: reading Blueprints, line-numbered errors, writing files.

The generated programs are run against the emulator in tests/acceptance/test_blueprint_import.py.
"""

from __future__ import annotations

import ast
import json
import keyword
import unicodedata
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest
import yaml

from pulumi_render_kv.blueprint import (
    BlueprintError,
    main,
    read_blueprint,
    render_program,
    requirement_from_direct_url,
)

ROOT = Path(__file__).resolve().parents[2]

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
            # In the Blueprint's own spelling: the API's allkeys_lru is not what the file says.
            "render.yaml:5: services[0] ('c').maxmemoryPolicy: 'allkeys-lur' must be one of "
            "noeviction, allkeys-lfu, allkeys-lru, allkeys-random, volatile-lfu, volatile-lru, "
            "volatile-random, volatile-ttl; did you mean 'allkeys-lru'?",
        ),
        (  # written with underscores, suggested with underscores
            """\
            services:
              - type: keyvalue
                name: c
                ipAllowList: []
                maxmemoryPolicy: volatile_tll
            """,
            "render.yaml:5: services[0] ('c').maxmemoryPolicy: 'volatile_tll' must be one of "
            "noeviction, allkeys_lfu, allkeys_lru, allkeys_random, volatile_lfu, volatile_lru, "
            "volatile_random, volatile_ttl; did you mean 'volatile_ttl'?",
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
            "render.yaml:5: service 'c': the name is used twice in region oregon (also line 2): "
            "both resources would adopt the same instance; rename one, or set the region of the "
            "one that is elsewhere",
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


# --- names Render accepts and Python does not (issue #14) -------------------------------------

# Valid Render names that are no Python names, or that would rebind what the program imports.
AWKWARD_NAMES = (
    "pulumi",  # would rebind the module the exports call
    "render_kv",  # would rebind the module every KeyValue comes from
    "render-kv",
    "kv_pulumi",  # what "pulumi" becomes: still two variables
    "cache²",  # \\w, but no identifier
    "__debug__",  # parses, but does not compile
    "__name__",
    "class",
    "None",
    "match",
    "2024",
    "_",
    "-",
    "\uff50\uff55\uff4c\uff55\uff4d\uff49",  # fullwidth: NFKC makes it `pulumi` in an identifier
    "ﬁ",  # NFKC: the same identifier as "fi"
    "fi",
    "кэш",
)


def assigned_names(program: str) -> list[str]:
    tree = ast.parse(program)
    return [
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    ]


def test_every_render_name_gives_a_program_that_compiles_with_its_own_variables() -> None:
    text = "services:\n" + "".join(
        f"- {{type: keyvalue, name: {json.dumps(name)}, ipAllowList: []}}\n"
        for name in AWKWARD_NAMES
    )
    blueprint = read_blueprint(text)
    program = render_program(blueprint, "render.yaml")
    compile(program, "__main__.py", "exec")  # ast.parse alone accepts `__debug__ = ...`
    variables = assigned_names(program)
    assert len(variables) == len(AWKWARD_NAMES)
    # Python compares identifiers after NFKC: the variables must differ as Python sees them.
    seen = {unicodedata.normalize("NFKC", v) for v in variables}
    assert len(seen) == len(variables), variables
    assert not seen & {"pulumi", "render_kv"}
    assert all(v.isidentifier() and not keyword.iskeyword(v) for v in variables)
    assert not [v for v in variables if v.startswith("__") and v.endswith("__")]
    # Each resource keeps its Render name, and its outputs read its own variable.
    tree = ast.parse(program)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    resources = [c for c in calls if ast.unparse(c.func) == "render_kv.KeyValue"]
    assert [ast.literal_eval(c.args[0]) for c in resources] == list(AWKWARD_NAMES)
    exports = {
        ast.literal_eval(c.args[0]): ast.unparse(c.args[1]).rsplit(".", 1)[0]
        for c in calls
        if ast.unparse(c.func) == "pulumi.export"
    }
    assert [exports[f"{name}.host"] for name in AWKWARD_NAMES] == variables


@pytest.mark.parametrize(
    "project_name", ["my kv", "café", "x/y", "a:b", "", "a" * 101, "kv\nruntime: nodejs"]
)
def test_a_project_name_the_pulumi_cli_refuses_writes_nothing(
    project_name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "render.yaml").write_text(OFFICE)
    out = tmp_path / "infra"
    # --project=NAME: argparse would read a name that starts with "-" as an option.
    assert main([str(tmp_path / "render.yaml"), "-o", str(out), f"--project={project_name}"]) == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert "render-kv-import: --project" in err
    assert "nothing was written" in err
    if len(project_name) > 100:
        assert "project names are limited to 100 characters" in err
    else:
        # The Pulumi CLI's own words (`pulumi stack init` on such a Pulumi.yaml).
        assert "project names may only contain alphanumerics, hyphens, underscores, and " in err


@pytest.mark.parametrize("project_name", ["my-kv", "my_kv.prod", "-x", ".x", "1kv", "a" * 100])
def test_project_names_the_pulumi_cli_accepts(project_name: str, tmp_path: Path) -> None:
    (tmp_path / "render.yaml").write_text(OFFICE)
    out = tmp_path / "infra"
    assert main([str(tmp_path / "render.yaml"), "-o", str(out), f"--project={project_name}"]) == 0
    assert yaml.safe_load((out / "Pulumi.yaml").read_text())["name"] == project_name


# --- a project that runs under the CLI: requirements.txt and a virtualenv ---------------------


def test_the_project_names_a_virtualenv_the_cli_creates_and_what_to_install_in_it(
    tmp_path: Path,
) -> None:
    (tmp_path / "render.yaml").write_text(OFFICE)
    out = tmp_path / "infra"
    assert main([str(tmp_path / "render.yaml"), "-o", str(out), "--project", "kv"]) == 0
    project = yaml.safe_load((out / "Pulumi.yaml").read_text())
    # `pulumi up` creates venv/ and runs `pip install -r requirements.txt` in it the first time.
    assert project["runtime"] == {
        "name": "python",
        "options": {"toolchain": "pip", "virtualenv": "venv"},
    }
    requirements = requirement_lines(out / "requirements.txt")
    # Under `make venv` this checkout is installed editable, so that is what the project gets.
    assert requirements[0] == f"-e {ROOT}"
    assert requirements[1].startswith("pulumi")
    assert "<4" in requirements[1]


def requirement_lines(path: Path) -> list[str]:
    lines = path.read_text().splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize(
    ("given", "written"),
    [
        ("pulumi-render-kv==0.1.0", "pulumi-render-kv==0.1.0"),
        ("https://example.com/pulumi_render_kv-0.1.0-py3-none-any.whl",
         "pulumi-render-kv @ https://example.com/pulumi_render_kv-0.1.0-py3-none-any.whl"),
        ("git+https://example.com/kv.git@v0.1.0", "pulumi-render-kv @ git+https://example.com/kv.git@v0.1.0"),
    ],
)  # fmt: skip
def test_requirement_option(given: str, written: str, tmp_path: Path) -> None:
    (tmp_path / "render.yaml").write_text(OFFICE)
    out = tmp_path / "infra"
    argv = [str(tmp_path / "render.yaml"), "-o", str(out), "--project", "kv"]
    assert main([*argv, "--requirement", given]) == 0
    assert requirement_lines(out / "requirements.txt")[0] == written


def test_requirement_option_makes_local_paths_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pip reads a relative path from where `pulumi` runs it, not from requirements.txt."""
    (tmp_path / "render.yaml").write_text(OFFICE)
    wheel = tmp_path / "dist" / "pulumi_render_kv-0.1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    argv = ["render.yaml", "--project", "kv", "--force"]
    assert main([*argv, "-o", "a", "--requirement", "dist/" + wheel.name]) == 0
    assert requirement_lines(tmp_path / "a" / "requirements.txt")[0] == (
        f"pulumi-render-kv @ {wheel.as_uri()}"
    )
    assert main([*argv, "-o", "b", "--requirement", f"-e {ROOT}"]) == 0
    assert requirement_lines(tmp_path / "b" / "requirements.txt")[0] == f"-e {ROOT}"
    assert main([*argv, "-o", "c", "--requirement", "."]) == 0
    assert requirement_lines(tmp_path / "c" / "requirements.txt")[0] == (
        f"pulumi-render-kv @ {tmp_path.as_uri()}"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--requirement", "x"], "--requirement needs --project"),
        (["--project", "kv", "--requirement", "pulumi-render-kv\n-e /tmp"], "one line"),
        (["--project", "kv", "--requirement", "-e does-not-exist"], "does-not-exist"),
    ],
)
def test_bad_requirement_writes_nothing(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "render.yaml").write_text(OFFICE)
    out = tmp_path / "infra"
    assert main([str(tmp_path / "render.yaml"), "-o", str(out), *argv]) == 2
    assert not out.exists()
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("direct_url", "expected"),
    [
        (None, "pulumi-render-kv"),  # from an index: nothing recorded
        ({"url": "file:///src/kv", "dir_info": {"editable": True}}, "-e /src/kv"),
        ({"url": "file:///src/kv", "dir_info": {}}, "pulumi-render-kv @ file:///src/kv"),
        (
            {"url": "file:///w/pulumi_render_kv-0.1.0-py3-none-any.whl", "archive_info": {}},
            "pulumi-render-kv @ file:///w/pulumi_render_kv-0.1.0-py3-none-any.whl",
        ),
        (
            {
                "url": "https://example.com/kv.git",
                "vcs_info": {"vcs": "git", "commit_id": "0123abc"},
            },
            "pulumi-render-kv @ git+https://example.com/kv.git@0123abc",
        ),
    ],
)
def test_the_default_requirement_is_where_pip_installed_this_copy_from(
    direct_url: dict[str, Any] | None, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PEP 610's direct_url.json, as pip records it, read for each way of installing."""
    # Only the file-existence check is neutralised: these paths are examples, not this machine's.
    monkeypatch.setattr(Path, "exists", lambda self: True)
    text = json.dumps(direct_url) if direct_url is not None else None
    assert requirement_from_direct_url(text) == (expected, None)


def test_a_wheel_that_is_gone_falls_back_to_the_name_and_says_so() -> None:
    gone = {"url": "file:///nowhere/pulumi_render_kv-0.1.0-py3-none-any.whl", "archive_info": {}}
    spec, note = requirement_from_direct_url(json.dumps(gone))
    assert spec == "pulumi-render-kv"
    assert note is not None
    assert "/nowhere/pulumi_render_kv-0.1.0-py3-none-any.whl" in note
    assert "--requirement" in note


# --- valid YAML that was refused (issue #14) --------------------------------------------------


def test_merge_keys_share_settings_and_the_service_overrides_them() -> None:
    text = """\
x-kv: &kv
  type: keyvalue
  plan: standard
  maxmemoryPolicy: noeviction
  ipAllowList: []
services:
  - <<: *kv
    name: jobs
  - <<: *kv
    name: cache
    maxmemoryPolicy: allkeys-lru
  - <<: [{region: frankfurt}, *kv]
    name: eu-jobs
"""
    jobs, cache, eu = read_blueprint(text).services
    assert (jobs.type, jobs.plan, jobs.maxmemory_policy) == ("keyvalue", "standard", "noeviction")
    assert (cache.plan, cache.maxmemory_policy) == ("standard", "allkeys_lru")
    assert (eu.region, eu.plan) == ("frankfurt", "standard")


def test_a_problem_in_a_merged_mapping_names_its_line() -> None:
    found = problems(
        """\
        x-kv: &kv
          type: keyvalue
          plan: huge
          ipAllowList: []
        services:
          - <<: *kv
            name: jobs
        """
    )
    assert any(p.startswith("render.yaml:3: services[0] ('jobs').plan: 'huge'") for p in found)


def test_a_recursive_alias_is_an_error_not_a_hang() -> None:
    found = problems("services:\n  - &a\n    type: keyvalue\n    name: c\n    <<: *a\n")
    assert found


@pytest.mark.parametrize(
    ("scalar", "name"),
    [("2024", "2024"), ("yes", "yes"), ("on", "on"), ("1.50", "1.50"), ("0x1F", "0x1F")],
)
def test_names_that_yaml_reads_as_numbers_or_booleans_are_strings(scalar: str, name: str) -> None:
    """Render's Go decoder gives a string field the scalar's text: `name: 2024` is "2024"."""
    text = (
        f"services:\n- type: keyvalue\n  name: {scalar}\n  ipAllowList:\n"
        f"  - source: 10.0.0.0/8\n    description: {scalar}\n"
    )
    (kv,) = read_blueprint(text).services
    assert kv.name == name
    assert kv.ip_allow_list[0].description == name
    program = render_program(read_blueprint(text), "render.yaml")
    compile(program, "__main__.py", "exec")
    assert f'render_kv.KeyValue(\n    "{name}",' in program


def test_a_null_name_is_empty() -> None:
    found = problems("services:\n- {type: keyvalue, name: ~, ipAllowList: []}\n")
    assert found == ["render.yaml:2: services[0].name: must not be empty"]


def test_the_same_name_in_two_regions_is_two_resources() -> None:
    text = """\
services:
  - {type: keyvalue, name: cache, ipAllowList: []}
  - {type: keyvalue, name: cache, region: frankfurt, ipAllowList: []}
  - {type: keyvalue, name: jobs, ipAllowList: []}
"""
    blueprint = read_blueprint(text)
    assert [(s.name, s.region, s.resource_name) for s in blueprint.services] == [
        ("cache", "oregon", "cache-oregon"),
        ("cache", "frankfurt", "cache-frankfurt"),
        ("jobs", "oregon", "jobs"),
    ]
    program = render_program(blueprint, "render.yaml")
    compile(program, "__main__.py", "exec")
    tree = ast.parse(program)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    resources = {
        ast.literal_eval(c.args[0]): {k.arg: ast.unparse(k.value) for k in c.keywords}
        for c in calls
        if ast.unparse(c.func) == "render_kv.KeyValue"
    }
    # Pulumi names must differ; the Render name (what adoption looks up) stays "cache".
    assert list(resources) == ["cache-oregon", "cache-frankfurt", "jobs"]
    assert resources["cache-oregon"]["name"] == "'cache'"
    assert resources["cache-frankfurt"]["name"] == "'cache'"
    assert "name" not in resources["jobs"]
    exports = [ast.literal_eval(c.args[0]) for c in calls if ast.unparse(c.func) == "pulumi.export"]
    assert "cache-frankfurt.connectionString" in exports
    assert "jobs.connectionString" in exports
    assert any("'cache' is in 2 regions" in note for note in blueprint.notes), blueprint.notes


# --- --protect ---------------------------------------------------------------------------------


def test_protect_sets_deletion_protection_on_every_resource(tmp_path: Path) -> None:
    (tmp_path / "render.yaml").write_text(OFFICE)
    out = tmp_path / "infra"
    assert main([str(tmp_path / "render.yaml"), "-o", str(out), "--protect"]) == 0
    tree = ast.parse((out / "__main__.py").read_text())
    resources = [
        c
        for c in ast.walk(tree)
        if isinstance(c, ast.Call) and ast.unparse(c.func) == "render_kv.KeyValue"
    ]
    assert len(resources) == 2
    for call in resources:
        keywords = {k.arg: ast.unparse(k.value) for k in call.keywords}
        assert keywords["deletion_protection"] == "True"
    unprotected = render_program(read_blueprint(OFFICE), "render.yaml")
    assert "deletion_protection" not in unprotected
