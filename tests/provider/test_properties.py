"""Property-based: check is idempotent, and what create writes, read gives back unchanged."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pulumi_render_kv.catalog import MaxmemoryPolicy, PersistenceMode, Region, Workload
from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings
from pulumi_render_kv.provider import KeyValueProvider

BLOB = "provider-blob"

networks = st.builds(
    lambda addr, prefix: ipaddress.ip_network(
        f"{ipaddress.IPv4Address(addr)}/{prefix}", strict=False
    ),
    st.integers(0, 2**32 - 1),
    st.integers(8, 32),
)
entries = st.lists(
    st.tuples(networks, st.sampled_from(["", "office", "vpn", "ci runners"])),
    max_size=6,
).map(
    lambda items: [
        # Mix the spellings users write: bare addresses, CIDRs, dicts in either case.
        {
            "cidrBlock": str(net.network_address) if net.prefixlen == 32 else str(net),
            "description": d,
        }
        for net, d in items
    ]
)

raw_inputs = st.fixed_dictionaries(
    {
        "name": st.text("abcdefghijklmnopqrstuvwxyz-0123456789", min_size=1, max_size=30),
        "plan": st.sampled_from(["free", "starter", "Standard", "pro", "pro-plus"]),
        "region": st.sampled_from([r.value for r in Region] + ["Oregon"]),
        "ipAllowList": entries,
        "waitTimeout": st.sampled_from([60.0, 900.0, 1200]),
    },
    optional={
        "workload": st.sampled_from([w.value for w in Workload]),
        "maxmemoryPolicy": st.sampled_from([p.value for p in MaxmemoryPolicy] + ["allkeys-lru"]),
        "persistenceMode": st.sampled_from([m.value for m in PersistenceMode]),
    },
)


def check(provider: KeyValueProvider, raw: dict[str, Any]) -> dict[str, Any] | None:
    result = provider.check({}, {"__provider": BLOB, **raw})
    return None if result.failures else result.inputs


@given(raw_inputs)
def test_check_is_idempotent(raw: dict[str, Any]) -> None:
    """check(check(x)) == check(x) for every valid input: the engine re-checks on replace."""
    provider = KeyValueProvider()
    once = check(provider, raw)
    assume(once is not None)
    assert check(provider, once) == once  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    settings = EmulatorSettings(port=0, data_plane=False, rate_limits=RateLimitSettings.unlimited())
    with Emulator(settings) as emu:
        yield emu


@pytest.fixture
def env(api: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    monkeypatch.setenv("RENDER_API_URL", api.url)
    monkeypatch.setenv("RENDER_API_KEY", "rnd_propertyTestKey")
    monkeypatch.setenv("RENDER_OWNER_ID", api.owner_id)
    monkeypatch.setenv("RENDER_API_CLIENT_LIMITS", "off")
    return api


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw_inputs)
def test_read_after_create_never_diffs(env: Emulator, raw: dict[str, Any]) -> None:
    """Whatever valid inputs create, refresh reads back inputs that diff as no change."""
    env.reset()
    provider = KeyValueProvider()
    inputs = check(provider, raw)
    assume(inputs is not None)
    created = provider.create(inputs)  # type: ignore[arg-type]
    read = provider.read(created.id, {**created.outs, "__provider": BLOB})  # type: ignore[dict-item]
    assert read.inputs is not None
    assert provider.diff(created.id, read.outs, inputs).changes is False  # type: ignore[arg-type]
    assert provider.diff(created.id, created.outs, read.inputs).changes is False  # type: ignore[arg-type]
    # A preview after refresh re-checks the refreshed inputs against the program: no diff.
    assert check(provider, {**read.inputs}) == {k: v for k, v in read.inputs.items()}
