"""The package's public surface, what importing it costs, and the pickled provider."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import pulumi_render_kv as render_kv

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str, **env: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def test_all_lists_exactly_the_public_names() -> None:
    """__all__ and the module's public attributes agree.

    Through ``dir`` and ``getattr``, not ``vars``: some names are bound on first use (PEP 562),
    so that a provider process's check imports neither the client nor pydantic.
    """
    public = {
        name
        for name in dir(render_kv)
        if not name.startswith("_")
        and not isinstance(getattr(render_kv, name), ModuleType)  # submodules
    }
    assert set(render_kv.__all__) == public


def test_names_bound_on_first_use_are_the_defining_modules_objects() -> None:
    """The lazily bound names are the very classes, however they are reached."""
    # The `from … import` form, as a program writes it (it goes through __getattr__ too).
    from pulumi_render_kv import IpAllowEntry, RenderError, client, errors, spec  # noqa: PLC0415

    assert RenderError is client.RenderError is errors.RenderError
    assert IpAllowEntry is spec.IpAllowEntry is render_kv.provider.IpAllowEntry
    for name in errors.__all__:
        assert name in dir(errors)
        assert isinstance(getattr(errors, name), type)
    assert errors.NotFoundError is client.NotFoundError
    for name in ("KeyValueSpec", "LogStreamSpec", "IpAllowEntry"):
        assert name in dir(spec)
        assert getattr(spec, name).__module__ == "pulumi_render_kv.spec._models"


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    """The first-use hooks answer only for their own names."""
    for module in (render_kv, render_kv.errors, render_kv.spec, render_kv.provider):
        with pytest.raises(AttributeError, match="no attribute 'NoSuchName'"):
            getattr(module, "NoSuchName")  # noqa: B009


def test_importing_the_provider_loads_no_emulator_or_harness() -> None:
    """The emulator's server stack and the test harness stay out of a user's program."""
    loaded = _python("import sys, pulumi_render_kv; print('\\n'.join(sorted(sys.modules)))").split()
    for module in (
        "pulumi_render_kv.emulator",
        "pulumi_render_kv.testing",
        "werkzeug",
        "redis",
        "cryptography",
    ):
        assert module not in loaded


def test_pickled_provider_is_identical_across_processes_and_holds_no_secret() -> None:
    """Two fresh processes, different credentials in the environment: the same blob, no key."""
    code = (
        "from pulumi.dynamic.dynamic import serialize_provider;"
        "from pulumi_render_kv import KeyValueProvider;"
        "print(serialize_provider(KeyValueProvider()))"
    )
    first = _python(
        code, RENDER_API_KEY="rnd_firstSecretKey", RENDER_API_URL="http://127.0.0.1:1/v1"
    )
    second = _python(code, RENDER_API_KEY="rnd_otherSecretKey")
    assert first == second
    raw = base64.b64decode(first)
    assert b"rnd_" not in raw
    assert b"pulumi_render_kv.provider.provider" in raw  # by reference, not by value
    assert len(raw) < 200


def test_exported_enums_are_accepted_as_inputs() -> None:
    """Enum members work wherever strings do."""
    provider = render_kv.KeyValueProvider()
    result = provider.check(
        {},
        {
            "name": "x",
            "plan": render_kv.Plan.STANDARD,
            "region": render_kv.Region.FRANKFURT,
            "maxmemoryPolicy": render_kv.MaxmemoryPolicy.VOLATILE_LRU,
            "persistenceMode": render_kv.PersistenceMode.SNAPSHOT,
        },
    )
    assert result.failures == []
    assert (result.inputs["plan"], result.inputs["region"]) == ("standard", "frankfurt")
    assert result.inputs["maxmemoryPolicy"] == "volatile_lru"


def test_a_program_with_a_plain_allow_list_does_not_import_pydantic() -> None:
    """Strings and dicts are passed as they are: only an IpAllowEntry needs its model."""
    loaded = _python(
        "import sys\n"
        "from pulumi_render_kv.provider.resource import _entries\n"
        "print(_entries(['203.0.113.0/24', {'cidr_block': '198.51.100.0/24'}]))\n"
        "print('pydantic' in sys.modules)\n"
    ).split("\n")
    assert "198.51.100.0/24" in loaded[0]
    assert loaded[1] == "False"
