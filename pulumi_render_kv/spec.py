"""The desired state of a Key Value instance: validation and normalisation of user inputs.

``normalize_inputs`` takes the inputs as Pulumi hands them to ``check`` (camelCase keys,
numbers possibly as floats, values possibly ``UNKNOWN`` during a preview) and returns the
canonical inputs plus *every* problem found, each naming the property, the value and the
fix. Canonical means that two inputs that mean the same thing are equal: policies in the
API's spelling, CIDRs parsed and masked, allow lists deduplicated, persistence resolved from
the workload or the plan. That is what keeps ``pulumi up`` free of false diffs. Allow lists
keep the order they are written in, since the engine displays these inputs; what they admit
is compared as a set (``allow_list_entries``).

No I/O and no Pulumi here: the provider adapter maps Pulumi's own unknown marker to
``UNKNOWN`` before calling in.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, SecretStr

from pulumi_render_kv import catalog
from pulumi_render_kv.catalog import MaxmemoryPolicy, PersistenceMode, Plan, Region, Workload


class _Unknown:
    """A value not known yet (a preview input that depends on another resource)."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = _Unknown()

AS_IS: Final = "as-is"
"""For ``suspended`` and ``logStream``: Pulumi leaves it as it is in Render, never changes it.

What a program adopting instances says for what it cannot know (a Blueprint states neither a
suspension nor a log-stream override): the first ``pulumi up`` keeps the Dashboard's choice,
and refresh reports no drift for it. Setting a value later starts managing it.
"""
AS_IS_PROPERTIES: Final = frozenset({"suspended", "logStream"})

MAX_DESCRIPTION_LENGTH = 255
MAX_NAME_LENGTH = 255  # what Render accepts (issue #14); the emulator enforces the same
MAX_WAIT_TIMEOUT = 6 * 3600.0
DEFAULT_WAIT_TIMEOUT = 900.0


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the inputs; ``property`` is the camelCase path in state."""

    property: str
    reason: str

    def __str__(self) -> str:
        return f"{self.property}: {self.reason}"


class InputError(ValueError):
    """Inputs that cannot be applied; lists every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


# The models defer building their validators to their first use: check and diff never
# build one, and every preview's provider process imports this module (issue 16).


class IpAllowEntry(BaseModel):
    """One CIDR block allowed to reach the instance's external (TLS) endpoint."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    cidr_block: str
    description: str = ""


class LogStreamSpec(BaseModel):
    """The instance's own log-stream override; the token stays a ``SecretStr`` (never in reprs)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    setting: str
    endpoint: str | None = None
    token: SecretStr | None = None


class KeyValueSpec(BaseModel):
    """Fully known, canonical inputs: what create and update apply."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    name: str
    plan: str
    region: str
    maxmemory_policy: str
    persistence_mode: str
    ip_allow_list: tuple[IpAllowEntry, ...] = ()
    log_stream: LogStreamSpec | None = None
    """The override to set; None is the workspace default (or, with ``log_stream_as_is``,
    whatever Render has)."""
    log_stream_as_is: bool = False
    workload: str | None = None
    environment_id: str | None = None
    owner_id: str | None = None
    suspended: bool | None = False
    """None: as it is in Render (``AS_IS``), neither suspended nor resumed by Pulumi."""
    deletion_protection: bool = False
    allow_data_loss: bool = False
    adopt_existing: bool = False
    allow_duplicate_name: bool = False
    wait_timeout: float = DEFAULT_WAIT_TIMEOUT

    @classmethod
    def from_inputs(cls, inputs: Mapping[str, Any]) -> KeyValueSpec:
        """Build from canonical camelCase inputs (as returned by ``normalize_inputs``)."""
        unknown = sorted(k for k, v in inputs.items() if _has_unknown(v))
        if unknown:
            raise InputError([Problem(k, "is still unknown") for k in unknown])
        _build_models()
        return cls(
            name=inputs["name"],
            plan=inputs["plan"],
            region=inputs["region"],
            maxmemory_policy=inputs["maxmemoryPolicy"],
            persistence_mode=inputs["persistenceMode"],
            ip_allow_list=tuple(
                IpAllowEntry(cidr_block=e["cidrBlock"], description=e["description"])
                for e in inputs.get("ipAllowList", ())
            ),
            log_stream=LogStreamSpec.model_validate(inputs["logStream"])
            if inputs.get("logStream") not in (None, AS_IS)
            else None,
            log_stream_as_is=inputs.get("logStream") == AS_IS,
            workload=inputs.get("workload"),
            environment_id=inputs.get("environmentId"),
            owner_id=inputs.get("ownerId"),
            suspended=None if inputs.get("suspended") == AS_IS else inputs.get("suspended", False),
            deletion_protection=inputs.get("deletionProtection", False),
            allow_data_loss=inputs.get("allowDataLoss", False),
            adopt_existing=inputs.get("adoptExisting", False),
            allow_duplicate_name=inputs.get("allowDuplicateName", False),
            wait_timeout=inputs.get("waitTimeout", DEFAULT_WAIT_TIMEOUT),
        )


_BUILD_LOCK = threading.Lock()


def _build_models() -> None:
    """Build the models' deferred validators once, under a lock.

    Create and update run in the SDK server's four worker threads, and pydantic's own build
    on first use was not thread-safe until recent releases (pydantic#13419), which this
    package accepts.
    """
    models = (IpAllowEntry, LogStreamSpec, KeyValueSpec)
    if all(model.__pydantic_complete__ for model in models):
        return
    with _BUILD_LOCK:
        for model in models:
            if not model.__pydantic_complete__:
                model.model_rebuild()


def _has_unknown(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(_has_unknown(v) for v in value.values())
    return value is UNKNOWN


# --- single-value normalisers: return (canonical value, problem reason or None) -------------


def _suggest(value: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"must be one of {', '.join(choices)}{hint}"


def _enum_key(value: str) -> str:
    return value.strip().lower().replace("-", "_").replace(" ", "_")


def normalize_plan(value: Any) -> tuple[Any, str | None]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return value, (
            "is required and has no default, so that nobody pays for a plan by accident: "
            f"choose one of {', '.join(catalog.PLAN_RANK)}"
        )
    if not isinstance(value, str):
        return value, f"must be a plan name, one of {', '.join(catalog.PLAN_RANK)} or custom…"
    key = _enum_key(value)
    if key in catalog.PLAN_RANK:
        return key, None
    if key.startswith("custom"):  # account-specific custom plans keep their exact name
        return value.strip(), None
    return value, _suggest(key, [*catalog.PLAN_RANK, "custom…"])


Normalizer = Callable[[Any], tuple[Any, str | None]]


def _one_of(choices: Sequence[str], *, default: str | None = None) -> Normalizer:
    """A normaliser for an enum: case, ``-`` and spaces forgiven; ``None`` → ``default``.

    Forgiving ``-`` is what accepts the Dashboard/Blueprint/Valkey ``allkeys-lru`` for the
    API's ``allkeys_lru``.
    """

    def normalize(value: Any) -> tuple[Any, str | None]:
        if value is None:
            return default, None
        key = _enum_key(value) if isinstance(value, str) else value
        if key in choices:
            return key, None
        return value, _suggest(str(key), choices)

    return normalize


normalize_region = _one_of([r.value for r in Region], default=catalog.DEFAULT_REGION.value)
normalize_policy = _one_of([p.value for p in MaxmemoryPolicy])
normalize_persistence = _one_of([m.value for m in PersistenceMode])
normalize_workload = _one_of([w.value for w in Workload])


IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _parse_network(text: str, *, strict: bool) -> IpNetwork:
    # ip_network() tries IPv4 first and parses IPv6 text twice; a colon decides the family
    # exactly as that failed IPv4 attempt would (an IPv4 text never has one, IPv6 always).
    if ":" in text:
        return ipaddress.IPv6Network(text, strict=strict)
    return ipaddress.IPv4Network(text, strict=strict)


def _parse_cidr(value: Any) -> tuple[IpNetwork | None, str | None]:
    """The network ``value`` names, or ``None`` and the reason it names none.

    ``0.0.0.0`` (or ``::``) without a prefix is an error rather than a /32 (/128): as a host
    it admits no client, and whoever writes it almost surely means "everyone", which must be
    written out as ``/0``.
    """
    if not isinstance(value, str) or not value.strip():
        return None, "must be an IPv4 or IPv6 address or CIDR block, such as 203.0.113.0/24"
    text = value.strip()
    if "/" not in text:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            pass
        else:
            if address.is_unspecified:
                return None, (
                    f"is read as {address}/{address.max_prefixlen}, which admits no client; "
                    f"write {address}/0 to admit every address (the whole internet), or the "
                    "address you mean"
                )
    try:
        return _parse_network(text, strict=True), None
    except ValueError:
        try:
            masked = _parse_network(text, strict=False)
        except ValueError:
            return None, "is not an IP address or CIDR block (example: 203.0.113.0/24)"
        return None, f"has host bits set; did you mean {masked.with_prefixlen}?"


# An IPv4 address or CIDR block in the canonical spelling ipaddress prints: ASCII digits, no
# leading zeros, a prefix length (if any) in digits. ``_canonical_ipv4`` reads only this form
# and leaves every other text (IPv6, netmasks, leading zeros, anything wrong) to ipaddress.
_PLAIN_IPV4 = re.compile(
    r"(?:0|[1-9][0-9]{0,2})(?:\.(?:0|[1-9][0-9]{0,2})){3}(?:/(?:0|[1-9][0-9]?))?"
)


def _canonical_ipv4(text: str) -> str | None:
    """``text``'s canonical CIDR when it is a plain, valid IPv4 network; else None (ask
    ipaddress, which also explains what is wrong).

    The allow list's check in every preview parses each entry; ipaddress takes several µs
    per entry (issue 16: a 20-entry list was most of a preview's cost). This reads the plain
    form, which most entries are, in a fraction of that, with the same answer: tested
    against ipaddress in tests/core/test_networks.py.
    """
    if _PLAIN_IPV4.fullmatch(text) is None:
        return None
    address, _, prefix_text = text.partition("/")
    first, second, third, fourth = (int(octet) for octet in address.split("."))
    prefix = int(prefix_text) if prefix_text else 32
    if max(first, second, third, fourth) > 255 or prefix > 32:
        return None
    number = first << 24 | second << 16 | third << 8 | fourth
    if number & ((1 << (32 - prefix)) - 1) or not (number or prefix_text):
        return None  # host bits set, or a bare 0.0.0.0: refused, with ipaddress's help
    return f"{address}/{prefix}"


def _canonical_cidr(value: Any) -> tuple[str | None, str | None]:
    """The canonical CIDR ``value`` names (``10.0.0.1`` is ``10.0.0.1/32``), or None and why."""
    if isinstance(value, str):
        canonical = _canonical_ipv4(value.strip())
        if canonical is not None:
            return canonical, None
    network, reason = _parse_cidr(value)
    return (None, reason) if network is None else (network.with_prefixlen, None)


def normalize_cidr(value: Any) -> tuple[Any, str | None]:
    """``10.0.0.1`` → ``10.0.0.1/32``; host bits are an error that names the network meant."""
    canonical, reason = _canonical_cidr(value)
    if canonical is None:
        return value, reason
    return canonical, None


def parse_network(value: Any) -> tuple[IpNetwork | None, str | None]:
    """The network ``value`` names (``10.0.0.1`` is ``10.0.0.1/32``), or ``None`` and why not."""
    return _parse_cidr(value)


WHOLE_INTERNET: Final = (ipaddress.IPv4Network("0.0.0.0/0"), ipaddress.IPv6Network("::/0"))


def cover(networks: Iterable[IpNetwork], target: IpNetwork) -> tuple[IpNetwork, ...]:
    """The fewest of ``networks`` that together admit every address of ``target``, in order.

    ``()`` when all of them together leave an address of ``target`` out. What counts is what
    the networks admit, not how they are written: ``0.0.0.0/1`` and ``128.0.0.0/1`` cover
    ``0.0.0.0/0``. A listed network that contains ``target`` covers it alone (the narrowest
    such one is named). Otherwise, since two CIDR blocks are either nested or disjoint, the
    outermost listed blocks inside ``target`` are disjoint, each of them is needed, and they
    cover ``target`` exactly when their sizes add up to its size. A sort, then one pass:
    cheap enough for every preview's check, with hundreds of entries.
    """
    container: IpNetwork | None = None
    inside: list[IpNetwork] = []
    first, last = int(target.network_address), int(target.broadcast_address)
    for network in networks:
        if network.version != target.version:
            continue
        start, end = int(network.network_address), int(network.broadcast_address)
        if start <= first and last <= end:
            if container is None or network.prefixlen > container.prefixlen:
                container = network
        elif first <= start and end <= last:
            inside.append(network)
    if container is not None:
        return (container,)
    inside.sort(key=lambda n: (int(n.network_address), n.prefixlen))
    outermost: list[IpNetwork] = []
    for network in inside:
        # Sorted by start, then widest first: a nested block follows the one it is in.
        if outermost and int(network.broadcast_address) <= int(outermost[-1].broadcast_address):
            continue
        outermost.append(network)
    covered = sum(n.num_addresses for n in outermost) == target.num_addresses
    return tuple(outermost) if covered else ()


def allow_list_networks(entries: Any) -> list[IpNetwork]:
    """The networks of an ``ipAllowList`` (entries or bare strings); others are skipped.

    For judging a list that may not be valid (old state, a preview's unknowns): the problems
    are ``normalize_inputs``'s to report.
    """
    if not isinstance(entries, list | tuple):
        return []
    networks = []
    for entry in entries:
        cidr = (
            entry.get("cidrBlock", entry.get("cidr_block")) if isinstance(entry, Mapping) else entry
        )
        network, _reason = _parse_cidr(cidr)
        if network is not None:
            networks.append(network)
    return networks


def allow_list_entries(entries: Any) -> frozenset[tuple[str, str]] | None:
    """An ``ipAllowList`` as what it means: the set of its (cidrBlock, description) pairs.

    Render's list has no meaningful order and a duplicate adds nothing, so two lists with the
    same set are the same list; a changed description is a change. ``None`` when ``entries``
    is no list of entries (unknown, or a value check refuses): compare those as they are.
    """
    if not isinstance(entries, list | tuple):
        return None
    pairs = set()
    for item in entries:
        # Planning and check ask this several times per resource in every preview: a plain
        # dict (every entry the engine sends) skips the isinstance against the Mapping ABC.
        if type(item) is dict:
            entry: Mapping[str, Any] = item
        elif isinstance(item, str):
            entry = {"cidrBlock": item}
        elif isinstance(item, Mapping):
            entry = item
        else:
            return None
        cidr, description = entry.get("cidrBlock"), entry.get("description") or ""
        if not isinstance(cidr, str) or not isinstance(description, str):
            return None
        pairs.add((cidr, description))
    return frozenset(pairs)


def open_to_everyone(entries: Any) -> list[tuple[IpNetwork, tuple[IpNetwork, ...]]]:
    """Each whole address family (``0.0.0.0/0``, ``::/0``) ``entries`` admit, with its cover."""
    networks = allow_list_networks(entries)
    found = [(whole, cover(networks, whole)) for whole in WHOLE_INTERNET]
    return [(whole, entries_) for whole, entries_ in found if entries_]


def describe_cover(target: IpNetwork, networks: Sequence[IpNetwork], *, shown: int = 5) -> str:
    """``0.0.0.0/1 and 128.0.0.0/1, which together cover 0.0.0.0/0``, for a message.

    A long cover names its first ``shown`` networks and counts the rest.
    """
    names = [n.with_prefixlen for n in networks]
    if len(names) == 1:
        return names[0] if networks[0] == target else f"{names[0]}, which covers {target}"
    if len(names) > shown:
        listed = f"{', '.join(names[:shown])} and {len(names) - shown} more"
    else:
        listed = f"{', '.join(names[:-1])} and {names[-1]}"
    return f"{listed}, which together cover {target}"


def _bool(value: Any) -> tuple[Any, str | None]:
    if value is None:
        return False, None
    if isinstance(value, bool):
        return value, None
    return value, "must be true or false"


def _suspended(value: Any) -> tuple[Any, str | None]:
    if value == AS_IS:
        return AS_IS, None
    canonical, reason = _bool(value)
    return canonical, reason and "must be true, false or render_kv.AS_IS (leave it as it is)"


def _rare_bool(value: Any) -> tuple[Any, str | None]:
    """A flag almost nobody sets: left out of the canonical inputs unless it is True."""
    canonical, reason = _bool(value)
    return (None if canonical is False else canonical), reason


def _optional_id(prefix: str, example: str) -> Normalizer:
    def normalize(value: Any) -> tuple[Any, str | None]:
        if value is None:
            return None, None
        if isinstance(value, str) and value.strip().startswith(prefix):
            return value.strip(), None
        return value, f"must be a Render id starting with {prefix!r}, such as {example}"

    return normalize


def _control_character(text: str) -> str | None:
    """Where ``text`` has a control character (newline, tab, NUL, DEL, …), or None.

    Render refuses them in names and descriptions, but only at ``pulumi up``: say so at check.
    Cc are the C0/C1 controls; Cs lone surrogates (from ``"\\ud800"``), which are not text.
    """
    if text.isprintable():  # no Cc or Cs (nor other unprintables): one C loop, no lookups
        return None
    for position, char in enumerate(text):
        if unicodedata.category(char) in ("Cc", "Cs"):
            return f"U+{ord(char):04X} at position {position}"
    return None


def _name(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, str) or not value.strip():
        return value, "must be a non-empty string"
    name = value.strip()
    if len(name) > MAX_NAME_LENGTH:
        return name, (
            f"must be at most {MAX_NAME_LENGTH} characters, not {len(name)}: Render refuses "
            "longer names"
        )
    found = _control_character(name)
    if found is not None:
        return name, f"must have no control characters such as a newline or tab (found {found})"
    return name, None


def _owner_id(value: Any) -> tuple[Any, str | None]:
    if value is None:
        return None, None
    if isinstance(value, str) and value.strip():
        return value.strip(), None
    return value, "must be a workspace id such as tea-d3p7t7buibrs738ekqeg"


def _wait_timeout(value: Any) -> tuple[Any, str | None]:
    if value is None:
        return DEFAULT_WAIT_TIMEOUT, None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value, "must be a number of seconds"
    if not 1 <= value <= MAX_WAIT_TIMEOUT:
        return value, f"must be between 1 and {int(MAX_WAIT_TIMEOUT)} seconds"
    return float(value), None


# Every input but ipAllowList and logStream (they need nested problem paths), with its normaliser.
_SIMPLE_FIELDS: dict[str, Normalizer] = {
    "name": _name,
    "plan": normalize_plan,
    "region": normalize_region,
    "workload": normalize_workload,
    "maxmemoryPolicy": normalize_policy,
    "persistenceMode": normalize_persistence,
    "environmentId": _optional_id("evm-", "evm-d0b2kmpr0fns73a4m7og"),
    "ownerId": _owner_id,
    "suspended": _suspended,
    "deletionProtection": _bool,
    "allowDataLoss": _bool,
    "adoptExisting": _bool,
    "allowDuplicateName": _rare_bool,
    # Set by KeyValue, not the user: the resource was registered with Pulumi's protect. The
    # engine never sends Delete for a protected resource, so with this set a Delete means
    # protect was taken off in the state (`pulumi state unprotect`): consent to delete.
    "pulumiProtect": _rare_bool,
    "waitTimeout": _wait_timeout,
}

KNOWN_INPUTS = frozenset({*_SIMPLE_FIELDS, "ipAllowList", "logStream"})
LOG_STREAM_SETTINGS = ("send", "drop")
_LOG_STREAM_KEYS = frozenset({"setting", "endpoint", "token"})
_HOST_PORT = re.compile(r"^(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(?P<port>\d{1,5})$")


def _normalize_log_stream(value: Any, problems: list[Problem]) -> Any:
    """``{setting, endpoint, token}`` → canonical, or ``None`` (the workspace default).

    Render's rule (spec): ``send`` needs an endpoint, ``drop`` takes none; a token only goes
    with ``send``. Render streams syslog over TLS, so an endpoint is ``host:port``. Problems
    never quote the token: it is a secret.
    """
    if value is None or value is UNKNOWN or value == AS_IS:
        return value
    if not isinstance(value, Mapping):
        problems.append(
            Problem("logStream", "must be {setting, endpoint, token}, render_kv.AS_IS or None")
        )
        return value
    for key in sorted(set(value) - _LOG_STREAM_KEYS):
        problems.append(
            Problem(f"logStream.{key}", "is not a log-stream field; use setting, endpoint, token")
        )
    setting, endpoint, token = (value.get(k) or None for k in ("setting", "endpoint", "token"))
    if setting is None:
        problems.append(
            Problem("logStream.setting", "is required: 'send' (to endpoint) or 'drop' (no logs)")
        )
    elif setting is not UNKNOWN:
        setting, reason = _one_of(LOG_STREAM_SETTINGS)(setting)
        if reason:
            problems.append(Problem("logStream.setting", f"{setting!r} {reason}"))
    out: dict[str, Any] = {"setting": setting, "endpoint": endpoint}
    if setting == "drop":
        for key, given in (("endpoint", endpoint), ("token", token)):
            if given is not None:
                problems.append(
                    Problem(
                        f"logStream.{key}",
                        "goes only with setting 'send'; remove it to drop the logs",
                    )
                )
    elif setting == "send":
        out["endpoint"] = _log_endpoint(endpoint, problems)
    if token is not None and setting != "drop":
        if token is not UNKNOWN and not isinstance(token, str):
            problems.append(Problem("logStream.token", "must be a string"))
        out["token"] = token
    return {k: v for k, v in out.items() if v is not None}


def _log_endpoint(endpoint: Any, problems: list[Problem]) -> Any:
    if endpoint is UNKNOWN:
        return endpoint
    where = "logStream.endpoint"
    if endpoint is None:
        problems.append(
            Problem(
                where,
                "is required with setting 'send': the host:port to stream to, "
                "such as logs.example.com:6514",
            )
        )
        return endpoint
    text = endpoint.strip() if isinstance(endpoint, str) else endpoint
    found = _HOST_PORT.match(text) if isinstance(text, str) else None
    if found is None or not 1 <= int(found["port"]) <= 65535:
        hint = (
            "; drop the scheme, Render streams syslog over TLS"
            if isinstance(text, str) and "://" in text
            else ""
        )
        problems.append(
            Problem(where, f"{endpoint!r} must be host:port, such as logs.example.com:6514{hint}")
        )
        return endpoint
    return text


def _normalize_allow_list(value: Any, problems: list[Problem]) -> Any:
    if value is None:
        return []
    if value is UNKNOWN:
        return value
    if not isinstance(value, list | tuple):
        problems.append(Problem("ipAllowList", "must be a list of {cidrBlock, description}"))
        return value
    by_cidr: dict[str, str] = {}  # canonical CIDR → description, in the order written
    unknown_entries = False
    for index, item in enumerate(value):
        where = f"ipAllowList[{index}]"
        if item is UNKNOWN:
            unknown_entries = True
            continue
        # A bare CIDR string is accepted as shorthand for an entry without description.
        entry = {"cidrBlock": item} if isinstance(item, str) else item
        if not isinstance(entry, Mapping):
            problems.append(Problem(where, f"{entry!r} must be {{cidrBlock, description}}"))
            continue
        raw_cidr = entry.get("cidrBlock", entry.get("cidr_block"))
        description = entry.get("description") or ""
        if raw_cidr is UNKNOWN or description is UNKNOWN:
            unknown_entries = True
            continue
        cidr, reason = _canonical_cidr(raw_cidr)
        if cidr is None:
            # A bare string has no cidrBlock to point at: the CLI would print its value as nil.
            path = where if isinstance(item, str) else f"{where}.cidrBlock"
            problems.append(Problem(path, f"{raw_cidr!r} {reason}"))
            continue
        if not isinstance(description, str) or len(description) > MAX_DESCRIPTION_LENGTH:
            problems.append(
                Problem(
                    f"{where}.description",
                    f"must be a string of at most {MAX_DESCRIPTION_LENGTH} characters",
                )
            )
            continue
        found = _control_character(description)
        if found is not None:
            problems.append(
                Problem(
                    f"{where}.description",
                    f"must have no control characters such as a newline or tab (found {found})",
                )
            )
            continue
        if cidr in by_cidr and by_cidr[cidr] != description:
            problems.append(
                Problem(
                    f"{where}.cidrBlock",
                    f"{cidr} is listed twice with different descriptions "
                    f"({by_cidr[cidr]!r} and {description!r}); keep one entry",
                )
            )
            continue
        by_cidr.setdefault(cidr, description)
    if unknown_entries:
        return UNKNOWN
    # The user's order, first occurrence kept: the engine shows the inputs check returns, so
    # a sorted list showed an entry added at the end as the first one replaced. Order means
    # nothing to Render; planning compares the lists as sets (``allow_list_entries``).
    return [{"cidrBlock": cidr, "description": desc} for cidr, desc in by_cidr.items()]


def normalize_inputs(
    raw: Mapping[str, Any], *, default_owner_id: str | None = None
) -> tuple[dict[str, Any], list[Problem]]:
    """Canonical inputs and every problem with them; unknown values pass through untouched.

    ``default_owner_id`` (from provider configuration) fills ``ownerId`` when it is not set.
    """
    problems: list[Problem] = []
    out: dict[str, Any] = {}
    for key in sorted(set(raw) - KNOWN_INPUTS):
        if not key.startswith("__"):
            problems.append(Problem(key, f"is not a KeyValue input; known: {sorted(KNOWN_INPUTS)}"))
    for key, normalize in _SIMPLE_FIELDS.items():
        value = raw.get(key)
        if value is UNKNOWN:
            out[key] = UNKNOWN
            continue
        canonical, reason = normalize(value)
        if reason:
            problems.append(Problem(key, f"{value!r} {reason}" if value is not None else reason))
        out[key] = canonical
    out["ipAllowList"] = _normalize_allow_list(raw.get("ipAllowList"), problems)
    out["logStream"] = _normalize_log_stream(raw.get("logStream"), problems)
    if out["ownerId"] is None and default_owner_id:
        out["ownerId"] = default_owner_id
    _resolve_workload(out, problems)
    return {k: v for k, v in out.items() if v is not None}, problems


def _resolve_workload(out: dict[str, Any], problems: list[Problem]) -> None:
    """Derive policy and persistence from the workload and the plan; flag contradictions.

    Unknown values (a preview) resolve what they can: a known workload still gives the
    policy when only the plan is unknown; persistence that depends on the plan stays unknown.
    """
    workload, policy, persistence, plan = (
        out["workload"],
        out["maxmemoryPolicy"],
        out["persistenceMode"],
        out["plan"],
    )
    if UNKNOWN in (workload, policy, persistence):
        return
    # A misspelt workload is already a problem; it implies nothing.
    profile = (
        catalog.WORKLOADS[Workload(workload)]
        if isinstance(workload, str) and workload in _WORKLOADS
        else None
    )
    if workload is None and policy is None:
        problems.append(
            Problem(
                "maxmemoryPolicy",
                "set either workload ('cache', 'queue' or 'session') or maxmemoryPolicy, "
                "so eviction is a choice rather than an accident",
            )
        )
    if profile is not None:
        if policy is None:
            out["maxmemoryPolicy"] = profile.policy.value
        elif isinstance(policy, str) and policy in profile.forbidden_policies:
            problems.append(
                Problem(
                    "maxmemoryPolicy",
                    f"{policy!r} contradicts workload {workload!r}: {profile.why}; "
                    f"use {profile.policy.value!r} or drop maxmemoryPolicy",
                )
            )
        if persistence is None and profile.persistence is not None:
            out["persistenceMode"] = persistence = profile.persistence.value
        elif isinstance(persistence, str) and persistence in profile.forbidden_persistence:
            problems.append(
                Problem(
                    "persistenceMode",
                    f"{persistence!r} contradicts workload {workload!r}: {profile.why}; "
                    f"use {profile.persistence.value if profile.persistence else 'snapshot'!r}",
                )
            )
    if plan is UNKNOWN:
        if persistence is None:
            out["persistenceMode"] = UNKNOWN  # Render's default depends on the plan
        return
    is_free = plan == Plan.FREE.value
    if persistence is None:
        out["persistenceMode"] = (
            PersistenceMode.OFF.value if is_free else PersistenceMode.JOURNAL_SNAPSHOT.value
        )
    elif is_free and persistence != PersistenceMode.OFF.value:
        reason = (
            f"workload {workload!r} needs persistence ({persistence!r}), which the free plan lacks"
            if workload is not None and profile is not None and profile.persistence is not None
            else f"{persistence!r} is not available on the free plan, which has no disk"
        )
        problems.append(
            Problem("persistenceMode", f"{reason}; choose plan 'starter' or larger, or 'off'")
        )


_WORKLOADS = frozenset(w.value for w in Workload)
