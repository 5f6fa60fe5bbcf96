"""Writing the Pulumi program, ``Pulumi.yaml`` and ``requirements.txt`` for a Blueprint.

Pure text generation: the caller decides where (and whether) to write it. Strings are
emitted with ``json.dumps``, which is always a valid Python string literal, whatever the
Blueprint's names and descriptions contain. Names are another matter: a Render name is any
string, a Python variable is not, so each resource gets a variable of its own (``_variables``).
"""

from __future__ import annotations

import json
import keyword
import re
import unicodedata

from pulumi_render_kv.blueprint._read import Blueprint, KeyValueService

# The Blueprint's fromService properties for Key Value, and the KeyValue output for each.
FROM_SERVICE_OUTPUTS = {
    "connectionString": "internal_connection_string",  # redis://red-…:6379, a secret
    "host": "host",
    "port": "port",
}
# What the generated program imports: no variable may rebind them.
IMPORTED_NAMES = frozenset({"pulumi", "render_kv"})
# What the Pulumi CLI accepts as a project name (`pulumi stack init` refuses anything else).
PROJECT_NAME = re.compile(r"[A-Za-z0-9_.-]+")
PROJECT_NAME_MAX = 100
DEFAULT_VIRTUALENV = "venv"


def output_name(resource_name: str, prop: str) -> str:
    """The stack output for ``fromService: {name: ..., property: prop}``."""
    return f"{resource_name}.{prop}"


def project_name_problem(name: str) -> str | None:
    """Why the Pulumi CLI would refuse ``name`` as a project name (its own words), or None."""
    if not PROJECT_NAME.fullmatch(name):
        return "project names may only contain alphanumerics, hyphens, underscores, and periods"
    if len(name) > PROJECT_NAME_MAX:
        return f"project names are limited to {PROJECT_NAME_MAX} characters"
    return None


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _variable(name: str) -> str:
    """A Python variable for a Render name: ASCII letters, digits and ``_``.

    ASCII only because Python compares identifiers after NFKC normalisation: ``pulumi`` in
    fullwidth letters would be ``pulumi``, and the ``fi`` ligature would be ``fi``. Leading
    and trailing ``_`` go, so no ``__dunder__`` (``__debug__`` cannot even be assigned);
    keywords, soft keywords, a leading digit and the imported modules get a ``kv_`` prefix.
    """
    ascii_name = unicodedata.normalize("NFKC", name)
    ident = re.sub(r"[^A-Za-z0-9]+", "_", ascii_name).strip("_")
    if (
        not ident
        or ident[0].isdigit()
        or keyword.iskeyword(ident)
        or keyword.issoftkeyword(ident)
        or ident in IMPORTED_NAMES
    ):
        ident = f"kv_{ident}" if ident else "kv"
    return ident


def _variables(services: list[KeyValueService]) -> list[str]:
    """One distinct variable per service, in order (``cache``, ``cache_2`` ...)."""
    taken: set[str] = set(IMPORTED_NAMES)
    variables = []
    for service in services:
        base = _variable(service.resource_name)
        variable, number = base, 1
        while variable in taken:
            number += 1
            variable = f"{base}_{number}"
        taken.add(variable)
        variables.append(variable)
    return variables


def _resource(service: KeyValueService, variable: str, source: str, *, protect: bool) -> list[str]:
    defaults = f"; {', '.join(service.defaulted)}: the Blueprint's defaults"
    # Quoted: a name (or file name) with a newline must not end the comment and become code.
    lines = [
        f"# {_q(service.name)}: type {service.type} at {_q(source)} line {service.line}"
        + (defaults if service.defaulted else ""),
        f"{variable} = render_kv.KeyValue(",
        f"    {_q(service.resource_name)},",
    ]
    if service.resource_name != service.name:
        lines.append(f"    name={_q(service.name)},  # the Render name, in {service.region}")
    lines += [
        f"    plan={_q(service.plan)},",
        f"    region={_q(service.region)},",
        f"    maxmemory_policy={_q(service.maxmemory_policy)},",
    ]
    if service.ip_allow_list:
        lines.append("    ip_allow_list=[")
        lines.extend(
            f"        render_kv.IpAllowEntry(cidr_block={_q(e.cidr_block)}, "
            f"description={_q(e.description)}),"
            for e in service.ip_allow_list
        )
        lines.append("    ],")
    else:
        lines.append("    ip_allow_list=[],  # internal connections only")
    lines += [
        "    # A Blueprint states neither a suspension nor a log-stream override: whatever the",
        "    # Dashboard has stays. Set either to a value to manage it from here on.",
        "    suspended=render_kv.AS_IS,",
        "    log_stream=render_kv.AS_IS,",
        "    adopt_existing=True,",
    ]
    if protect:
        lines.append("    deletion_protection=True,  # render-kv-import --protect")
    lines.append(")")
    lines += [
        f"pulumi.export({_q(output_name(service.resource_name, prop))}, {variable}.{attr})"
        for prop, attr in FROM_SERVICE_OUTPUTS.items()
    ]
    return lines


def render_program(blueprint: Blueprint, source: str, *, protect: bool = False) -> str:
    """``__main__.py``: one adopted ``KeyValue`` per service, outputs as ``fromService``.

    ``protect`` sets ``deletion_protection=True`` on every resource, as the policy pack's
    ``render-kv-deletion-protection`` requires on production stacks.
    """
    # Escaped as in a string literal, so that no file name can close the docstring.
    named = _q(source)[1:-1]
    protected = (
        "\nEvery instance has deletion_protection=True (--protect): neither `pulumi destroy`\n"
        "nor a replacement deletes it; set it to False first to delete one on purpose.\n"
        if protect
        else ""
    )
    header = f'''"""Render Key Value from the Blueprint {named}, generated by render-kv-import.

Each instance is adopted (adopt_existing=True): the first `pulumi up` takes over the live
instance with this name and region instead of creating one, and sets it to these inputs.
What a Blueprint cannot state stays as it is (suspended and log_stream are render_kv.AS_IS).
Blueprints have no persistence setting, so persistence is Render's default for the plan
(journal_snapshot on paid plans): if you changed it in the Dashboard, set persistence_mode=
before that first `up`. Stack outputs are named like the Blueprint's fromService properties:
"<service>.connectionString" (a secret), "<service>.host" and "<service>.port".
{protected}"""

import pulumi
import pulumi_render_kv as render_kv
'''
    body: list[str] = []
    for service, variable in zip(blueprint.services, _variables(blueprint.services), strict=True):
        body += ["", *_resource(service, variable, source, protect=protect)]
    return header + "\n".join(body) + "\n"


def render_project(name: str, virtualenv: str = DEFAULT_VIRTUALENV) -> str:
    """``Pulumi.yaml`` for a Python project running the generated program.

    With ``toolchain: pip`` and a ``virtualenv`` that does not exist yet, the CLI creates it
    on the first ``pulumi up`` (or ``pulumi install``) and runs ``pip install -r
    requirements.txt`` in it, so the project runs with nothing set up by hand.
    """
    lines = [
        f"name: {_q(name)}",
        "description: Render Key Value, imported from a Blueprint by render-kv-import",
        "runtime:",
        "  name: python",
        "  options:",
        "    toolchain: pip",
        f"    virtualenv: {_q(virtualenv)}",
    ]
    return "\n".join(lines) + "\n"


def render_requirements(package: str, pulumi: str) -> str:
    """``requirements.txt``: this package (``package``, a pip requirement line) and Pulumi."""
    return (
        "# What `pulumi up` installs into the project's virtualenv the first time it runs.\n"
        "# Written by render-kv-import: the first line is where pulumi-render-kv comes from\n"
        "# (where render-kv-import itself was installed from, or its --requirement).\n"
        f"{package}\n"
        f"{pulumi}\n"
    )
