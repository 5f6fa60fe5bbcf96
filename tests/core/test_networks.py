"""``spec.cover``: what an allow list admits, judged by the union of its networks (issue 13)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pulumi_render_kv.spec import (
    IpNetwork,
    allow_list_networks,
    cover,
    describe_cover,
    normalize_cidr,
    open_to_everyone,
    parse_network,
)

V4 = ipaddress.IPv4Network("0.0.0.0/0")
V6 = ipaddress.IPv6Network("::/0")


def nets(*cidrs: str) -> list[IpNetwork]:
    return [ipaddress.ip_network(c) for c in cidrs]


@pytest.mark.parametrize(
    ("cidrs", "target", "expected"),
    [
        (["0.0.0.0/0"], V4, ["0.0.0.0/0"]),
        (["128.0.0.0/1", "0.0.0.0/1"], V4, ["0.0.0.0/1", "128.0.0.0/1"]),
        (["::/1", "8000::/1"], V6, ["::/1", "8000::/1"]),
        # Nested entries are not needed: the outermost ones are the cover.
        (["0.0.0.0/1", "10.0.0.0/8", "128.0.0.0/1", "0.0.0.0/2"], V4, ["0.0.0.0/1", "128.0.0.0/1"]),
        # The other family never counts.
        (["0.0.0.0/1", "128.0.0.0/1"], V6, []),
        (["::/0"], V4, []),
        (["0.0.0.0/1", "128.0.0.0/2"], V4, []),
        ([], V4, []),
        # A narrower target: the narrowest containing entry alone, or the entries inside.
        (["0.0.0.0/0", "10.0.0.0/7"], ipaddress.ip_network("10.0.0.0/8"), ["10.0.0.0/7"]),
        (
            ["10.0.0.0/9", "10.128.0.0/9", "11.0.0.0/8"],
            ipaddress.ip_network("10.0.0.0/8"),
            ["10.0.0.0/9", "10.128.0.0/9"],
        ),
    ],
)
def test_cover(cidrs: list[str], target: IpNetwork, expected: list[str]) -> None:
    assert [n.with_prefixlen for n in cover(nets(*cidrs), target)] == expected


def test_256_slash_8s_cover_ipv4_and_255_do_not() -> None:
    eights = nets(*(f"{i}.0.0.0/8" for i in range(256)))
    assert cover(eights, V4) == tuple(eights)
    for missing in (0, 17, 255):
        assert cover(eights[:missing] + eights[missing + 1 :], V4) == ()


@st.composite
def ipv4_networks(draw: st.DrawFn) -> ipaddress.IPv4Network:
    # Few prefix lengths and few top bits, so that covering sets are common.
    prefix = draw(st.integers(min_value=0, max_value=4))
    top = draw(st.integers(min_value=0, max_value=(1 << prefix) - 1)) if prefix else 0
    return ipaddress.IPv4Network((top << (32 - prefix), prefix))


@given(st.lists(ipv4_networks(), max_size=12))
def test_cover_agrees_with_collapse_addresses(networks: list[ipaddress.IPv4Network]) -> None:
    """Covered exactly when the union, collapsed by ipaddress, is the whole target."""
    found = cover(networks, V4)
    covered = list(ipaddress.collapse_addresses(networks)) == [V4]
    assert bool(found) == covered
    if found:
        # Every network named is listed, they are disjoint, and none could be dropped.
        assert set(found) <= set(networks)
        assert sum(n.num_addresses for n in found) == V4.num_addresses
        v4 = [n for n in found if isinstance(n, ipaddress.IPv4Network)]
        assert list(ipaddress.collapse_addresses(v4)) == [V4]


def test_allow_list_networks_reads_entries_and_skips_what_names_no_network() -> None:
    entries = [{"cidrBlock": "10.0.0.0/8", "description": ""}, "::/0", {"cidrBlock": "nope"}, 5]
    assert allow_list_networks(entries) == nets("10.0.0.0/8", "::/0")
    assert allow_list_networks("0.0.0.0/0") == []  # not a list (or an unknown): nothing
    assert allow_list_networks(None) == []


def test_open_to_everyone_names_each_family() -> None:
    entries = ["0.0.0.0/1", "128.0.0.0/1", "203.0.113.0/24", "::/0"]
    assert open_to_everyone(entries) == [
        (V4, tuple(nets("0.0.0.0/1", "128.0.0.0/1"))),
        (V6, (V6,)),
    ]
    assert open_to_everyone(["0.0.0.0/1", "8000::/1"]) == []


def test_describe_cover() -> None:
    assert describe_cover(V4, (V4,)) == "0.0.0.0/0"
    assert (
        describe_cover(V4, tuple(nets("0.0.0.0/1", "128.0.0.0/1")))
        == "0.0.0.0/1 and 128.0.0.0/1, which together cover 0.0.0.0/0"
    )
    ten = ipaddress.ip_network("10.0.0.0/8")
    assert describe_cover(ten, tuple(nets("10.0.0.0/7"))) == "10.0.0.0/7, which covers 10.0.0.0/8"
    eights = tuple(nets(*(f"{i}.0.0.0/8" for i in range(256))))
    assert describe_cover(V4, eights) == (
        "0.0.0.0/8, 1.0.0.0/8, 2.0.0.0/8, 3.0.0.0/8, 4.0.0.0/8 and 251 more, "
        "which together cover 0.0.0.0/0"
    )


# --- normalize_cidr: its plain-IPv4 reading agrees with ipaddress ---------------------------


def _as_ipaddress_reads_it(text: str) -> tuple[object, str | None]:
    network, reason = parse_network(text)  # ipaddress alone
    return (text, reason) if network is None else (network.with_prefixlen, None)


_OCTET = st.one_of(
    st.integers(0, 300).map(str),
    st.sampled_from(["00", "01", "010", "0255", "٣", "1_0", "+1", "-1", ""]),
)
_PREFIX = st.one_of(
    st.just(""),
    st.integers(0, 40).map(lambda n: f"/{n}"),
    st.sampled_from(["/", "/08", "/00", "/255.0.0.0", "/0.0.0.255", "/٨", "/ 8", "/+8"]),
)
_ALMOST_IPV4 = st.builds(
    lambda octets, prefix, pad: f"{pad}{'.'.join(octets)}{prefix}{pad}",
    st.lists(_OCTET, min_size=3, max_size=5),
    _PREFIX,
    st.sampled_from(["", " ", "\t", "\n"]),
)


@given(st.one_of(_ALMOST_IPV4, st.text(alphabet="0123456789./: ", max_size=20)))
def test_normalize_cidr_reads_ipv4_exactly_as_ipaddress_does(text: str) -> None:
    """The fast reading of plain IPv4 text gives ipaddress's answer, or leaves it to it."""
    assert normalize_cidr(text) == _as_ipaddress_reads_it(text)


@pytest.mark.parametrize(
    "text",
    [
        "0.0.0.0",  # no prefix: refused (admits no client), not 0.0.0.0/32
        "0.0.0.0/0",
        "0.0.0.0/32",
        "255.255.255.255",
        "1.2.3.4/0",  # host bits
        "10.0.0.1/8",
        "10.0.0.0/8",
        "203.0.113.10",
        "256.0.0.1",
        "1.2.3.4/33",
        "01.2.3.4",
        "1.2.3.4/08",
        "10.0.0.0/255.0.0.0",
        " 10.0.0.1 ",
        "2001:db8::/48",
    ],
)
def test_normalize_cidr_edge_cases_match_ipaddress(text: str) -> None:
    assert normalize_cidr(text) == _as_ipaddress_reads_it(text)
