"""Reading a Render Blueprint (``render.yaml``): its Key Value services, with line numbers.

The Blueprint is parsed into PyYAML *nodes* (``yaml.compose``), not plain values, so that
every problem names the line it is on. Values go through the provider's own normalisers
(``spec``): a Blueprint the importer accepts is one whose program ``pulumi preview`` accepts.
Every problem is collected before failing, as ``spec.normalize_inputs`` does.

Blueprint facts (https://render.com/docs/blueprint-spec): Key Value services are
``type: keyvalue`` (deprecated alias ``redis``), ``ipAllowList``
is required (``source`` + optional ``description``), ``plan`` defaults to ``starter``,
``region`` to ``oregon``, ``maxmemoryPolicy`` to ``allkeys-lru`` (hyphenated spellings).
A name is unique per region, not per Blueprint.

Render reads Blueprints with a Go YAML decoder, and this reader follows it where PyYAML's
defaults differ: merge keys (``<<: *anchor``) are resolved, and a field that holds a string
takes a scalar's text whatever YAML 1.1 would make of it (``name: 2024`` is ``"2024"``,
``name: yes`` is ``"yes"``).
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from pulumi_render_kv import spec
from pulumi_render_kv.catalog import MaxmemoryPolicy

KEY_VALUE_TYPES = ("keyvalue", "redis")
DEFAULT_PLAN = "starter"
DEFAULT_REGION = "oregon"
DEFAULT_POLICY = "allkeys-lru"
# Key Value fields of a Blueprint service, and what the importer does with each.
SERVICE_FIELDS = ("type", "name", "plan", "previewPlan", "region", "maxmemoryPolicy", "ipAllowList")
ALLOW_ENTRY_FIELDS = ("source", "description")
MERGE_TAG = "tag:yaml.org,2002:merge"
NULL_TAG = "tag:yaml.org,2002:null"


@dataclass(frozen=True)
class BlueprintProblem:
    """Something in the Blueprint the importer cannot turn into a working program."""

    line: int  # 1-based
    where: str  # path in the Blueprint, e.g. services[2].maxmemoryPolicy
    reason: str

    def format(self, filename: str) -> str:
        return f"{filename}:{self.line}: {self.where}: {self.reason}"


class BlueprintError(ValueError):
    """The Blueprint cannot be imported; ``problems`` lists every reason, by line."""

    def __init__(self, filename: str, problems: list[BlueprintProblem]) -> None:
        self.filename = filename
        self.problems = problems
        super().__init__("\n".join(p.format(filename) for p in problems))


@dataclass(frozen=True)
class AllowEntry:
    cidr_block: str
    description: str


@dataclass(frozen=True)
class KeyValueService:
    """One Key Value service, its values canonical (the API's spelling).

    ``resource_name`` is the Pulumi resource's name: ``name``, unless the name is used in
    more than one region (``cache-frankfurt``), since Pulumi names must differ.
    """

    name: str
    line: int
    type: str
    plan: str
    region: str
    maxmemory_policy: str
    ip_allow_list: tuple[AllowEntry, ...]
    defaulted: tuple[str, ...]  # Blueprint fields left out, filled with Render's defaults
    resource_name: str


@dataclass
class Blueprint:
    services: list[KeyValueService] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was ignored, and why


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


Fields = dict[str, tuple[yaml.Node, yaml.Node]]  # key -> (key node, value node)


class _Reader:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[BlueprintProblem] = []
        self.blueprint = Blueprint()

    def problem(self, node: yaml.Node, where: str, reason: str) -> None:
        self.problems.append(BlueprintProblem(_line(node), where, reason))

    def note(self, node: yaml.Node, where: str, text: str) -> None:
        self.blueprint.notes.append(f"{self.filename}:{_line(node)}: {where}: {text}")

    def mapping(self, node: yaml.Node, where: str) -> Fields:
        """The node's keys; a duplicate key is a problem (PyYAML would keep the last)."""
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, where, "must be a mapping (key: value)")
            return {}
        return _merged(node, where, self.problems, frozenset())

    def scalar(self, node: yaml.Node, where: str) -> str | None:
        """A string field's value: the scalar's text, as Render's Go decoder reads it.

        ``yaml.compose`` tags ``2024`` as an int and ``yes`` as a bool (YAML 1.1), but into a
        string field Go's decoder puts the text as written; a null (``~``, nothing) is "".
        """
        if isinstance(node, yaml.ScalarNode):
            return "" if node.tag == NULL_TAG else str(node.value)
        self.problem(node, where, "must be a string")
        return None

    def read(self, root: yaml.Node | None) -> Blueprint:
        if root is None:
            self.problems.append(
                BlueprintProblem(1, "(file)", "is empty: a Blueprint has a services: list")
            )
            return self.blueprint
        top = self.mapping(root, "(file)")
        if "services" not in top:
            self.problem(root, "(file)", "has no services: list, so no Key Value to import")
        for key, (key_node, value) in top.items():
            if key == "services":
                self.services(value)
            elif key == "projects":
                self.projects(value)
            else:
                self.note(key_node, key, "ignored: only Key Value services are imported")
        if "services" in top and not self.blueprint.services and not self.problems:
            self.problem(
                top["services"][0],
                "services",
                "has no Key Value service (type: keyvalue or redis): nothing to import",
            )
        self.unique_names()
        return self.blueprint

    def unique_names(self) -> None:
        """Names are unique per region: the same name in two regions is two resources."""
        seen: dict[tuple[str, str], KeyValueService] = {}
        for service in self.blueprint.services:
            key = (service.name, service.region)
            if key in seen:
                self.problems.append(
                    BlueprintProblem(
                        service.line,
                        f"service {service.name!r}",
                        f"the name is used twice in region {service.region} (also line "
                        f"{seen[key].line}): both resources would adopt the same instance; "
                        "rename one, or set the region of the one that is elsewhere",
                    )
                )
            seen.setdefault(key, service)
        regions = Counter(s.name for s in self.blueprint.services)
        # Names used once keep their name; the others get their region, made unique if a
        # service is already called that (Pulumi refuses two resources of one name).
        taken = {s.name for s in self.blueprint.services if regions[s.name] == 1}
        services = []
        for service in self.blueprint.services:
            if regions[service.name] == 1:
                services.append(service)
                continue
            resource_name = _unique(f"{service.name}-{service.region}", taken, "-")
            taken.add(resource_name)
            services.append(dataclasses.replace(service, resource_name=resource_name))
        self.blueprint.services = services
        for name, count in regions.items():
            if count < 2:
                continue
            same = [s for s in services if s.name == name]
            self.blueprint.notes.append(
                f"{self.filename}:{same[0].line}: service {name!r} is in {count} regions "
                f"({', '.join(s.region for s in same)}): its resources and stack outputs are "
                f"named {', '.join(repr(s.resource_name) for s in same)}"
            )

    def projects(self, node: yaml.Node) -> None:
        """Projects are refused only when they hold Key Value: an environment id is needed."""
        found = False
        for path, service in self._key_values_in(node, "projects"):
            found = True
            self.problem(
                service,
                path,
                "a Key Value inside a project environment is not supported: the Blueprint "
                "does not give the environment's evm-… id; move it to the top-level services: "
                "list for the import and set environment_id= in the generated program",
            )
        if not found:
            self.note(node, "projects", "ignored: they hold no Key Value services")

    def _key_values_in(
        self, node: yaml.Node, path: str, seen: set[int] | None = None
    ) -> Iterator[tuple[str, yaml.Node]]:
        # An alias is the same node again: visit each once, so that a recursive or
        # exponentially aliased (billion laughs) document cannot hang the import.
        seen = set() if seen is None else seen
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys = {k: v for k, (_, v) in _merged(node, path, [], frozenset()).items()}
            kind = keys.get("type")
            if isinstance(kind, yaml.ScalarNode) and kind.value in KEY_VALUE_TYPES:
                yield path, node
                return
            for key, value in keys.items():
                yield from self._key_values_in(value, f"{path}.{key}", seen)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                yield from self._key_values_in(item, f"{path}[{index}]", seen)

    def services(self, node: yaml.Node) -> None:
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, "services", "must be a list of services (- type: keyvalue ...)")
            return
        for index, item in enumerate(node.value):
            where = f"services[{index}]"
            fields = self.mapping(item, where)
            type_node = fields.get("type", (None, None))[1]
            kind = self.scalar(type_node, f"{where}.type") if type_node is not None else None
            if type_node is None:
                self.problem(item, where, "has no type:")
                continue
            if kind not in KEY_VALUE_TYPES:
                name_node = fields.get("name", (None, None))[1]
                name = name_node.value if isinstance(name_node, yaml.ScalarNode) else "?"
                self.note(item, where, f"{kind} service {name!r} ignored: not a Key Value")
                continue
            service = self.service(item, fields, where)
            if service is not None:
                self.blueprint.services.append(service)

    def service(self, node: yaml.Node, fields: Fields, where: str) -> KeyValueService | None:
        before = len(self.problems)
        name = self.required(fields, "name", where, node)
        if name is not None:
            where = f"{where} ({name!r})"
        for key, (key_node, _) in fields.items():
            if key not in SERVICE_FIELDS:
                hint = _did_you_mean(key, SERVICE_FIELDS)
                if key == "persistenceMode":
                    hint = "; Blueprints have none: set persistence_mode in the generated program"
                self.problem(
                    key_node,
                    f"{where}.{key}",
                    f"is not a Key Value field of a Blueprint{hint}; "
                    f"known: {', '.join(SERVICE_FIELDS)}",
                )
        kind = str(fields["type"][1].value)
        if kind == "redis":
            self.note(
                fields["type"][1], f"{where}.type", "'redis' is the deprecated name of 'keyvalue'"
            )
        defaulted: list[str] = []
        plan = self.value(
            fields,
            "plan",
            where,
            default=DEFAULT_PLAN,
            normalize=spec.normalize_plan,
            defaulted=defaulted,
        )
        region = self.value(
            fields,
            "region",
            where,
            default=DEFAULT_REGION,
            normalize=spec.normalize_region,
            defaulted=defaulted,
        )
        policy = self.value(
            fields,
            "maxmemoryPolicy",
            where,
            default=DEFAULT_POLICY,
            normalize=spec.normalize_policy,
            defaulted=defaulted,
            spelling=_policy_spelling,
        )
        if "previewPlan" in fields:
            self.note(
                fields["previewPlan"][0],
                f"{where}.previewPlan",
                "ignored: preview environments are Render's, not this program's",
            )
        allow_list = self.allow_list(fields, where, node)
        if len(self.problems) > before or name is None or allow_list is None:
            return None
        return KeyValueService(
            name=name,
            line=_line(node),
            type=kind,
            plan=str(plan),
            region=str(region),
            maxmemory_policy=str(policy),
            ip_allow_list=allow_list,
            defaulted=tuple(defaulted),
            resource_name=name,
        )

    def required(self, fields: Fields, key: str, where: str, node: yaml.Node) -> str | None:
        if key not in fields:
            self.problem(node, where, f"has no {key}:")
            return None
        value = self.scalar(fields[key][1], f"{where}.{key}")
        if value is not None and not value.strip():
            self.problem(fields[key][1], f"{where}.{key}", "must not be empty")
            return None
        return value.strip() if value is not None else None

    def value(
        self,
        fields: Fields,
        key: str,
        where: str,
        *,
        default: str,
        normalize: spec.Normalizer,
        defaulted: list[str],
        spelling: Callable[[str, str], str] | None = None,
    ) -> Any:
        if key not in fields:
            defaulted.append(key)
            return normalize(default)[0]
        value_node = fields[key][1]
        raw = self.scalar(value_node, f"{where}.{key}")
        if raw is None:
            return None
        canonical, reason = normalize(raw)
        if reason:
            if spelling is not None:
                reason = spelling(reason, raw)
            self.problem(value_node, f"{where}.{key}", f"{raw!r} {reason}")
        return canonical

    def allow_list(
        self, fields: Fields, where: str, node: yaml.Node
    ) -> tuple[AllowEntry, ...] | None:
        if "ipAllowList" not in fields:
            self.problem(
                node,
                where,
                "has no ipAllowList:, which Render requires for Key Value; add "
                "`ipAllowList: []` for internal connections only, or the CIDR blocks "
                "(- source: 203.0.113.0/24) the live instance admits",
            )
            return None
        list_node = fields["ipAllowList"][1]
        where = f"{where}.ipAllowList"
        if isinstance(list_node, yaml.ScalarNode) and list_node.tag == NULL_TAG:
            return ()  # `ipAllowList:` with nothing after it: the empty list
        if not isinstance(list_node, yaml.SequenceNode):
            self.problem(list_node, where, "must be a list of {source, description}, or []")
            return None
        entries: dict[str, tuple[AllowEntry, int]] = {}
        ok = True
        for index, item in enumerate(list_node.value):
            at = f"{where}[{index}]"
            entry = self.mapping(item, at)
            for key, (key_node, _) in entry.items():
                if key not in ALLOW_ENTRY_FIELDS:
                    hint = (
                        " (Blueprints say source:, the API cidrBlock)" if key == "cidrBlock" else ""
                    )
                    self.problem(
                        key_node,
                        f"{at}.{key}",
                        f"is not an ipAllowList field{hint}; known: source, description",
                    )
                    ok = False
            if "source" not in entry:
                if isinstance(item, yaml.MappingNode):
                    self.problem(item, at, "has no source: (a CIDR block such as 203.0.113.0/24)")
                ok = False
                continue
            source_node = entry["source"][1]
            source = self.scalar(source_node, f"{at}.source")
            description = ""
            if "description" in entry:
                description = self.scalar(entry["description"][1], f"{at}.description") or ""
            if source is None:
                ok = False
                continue
            cidr, reason = spec.normalize_cidr(source)
            if reason:
                self.problem(source_node, f"{at}.source", f"{source!r} {reason}")
                ok = False
                continue
            if cidr in entries and entries[cidr][0].description != description:
                self.problem(
                    source_node,
                    f"{at}.source",
                    f"{cidr} is listed twice (also line {entries[cidr][1]}) with different "
                    "descriptions; keep one entry",
                )
                ok = False
                continue
            entries[str(cidr)] = (AllowEntry(str(cidr), description), _line(source_node))
        return tuple(e for e, _ in entries.values()) if ok else None


def _merged(
    node: yaml.MappingNode, where: str, problems: list[BlueprintProblem], merging: frozenset[int]
) -> Fields:
    """The mapping's keys with merge keys (``<<: *kv``, ``<<: [*a, *b]``) resolved.

    As YAML's merge key (and Go's decoder) define it: the mapping's own keys win over merged
    ones, and an earlier merged mapping wins over a later one. A key given twice in the
    mapping itself is a problem; ``merging`` holds the mappings being merged, so that a
    mapping that merges itself is a problem, not endless recursion.
    """
    if id(node) in merging:
        problems.append(
            BlueprintProblem(_line(node), where, "merges itself (<<: an alias of itself)")
        )
        return {}
    merging = merging | {id(node)}
    own: Fields = {}
    merged: Fields = {}
    for key_node, value in node.value:
        if key_node.tag == MERGE_TAG:
            sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
            for source in sources:
                if not isinstance(source, yaml.MappingNode):
                    problems.append(
                        BlueprintProblem(
                            _line(source),
                            f"{where}.<<",
                            "must be a mapping or a list of mappings (<<: *anchor)",
                        )
                    )
                    continue
                for key, pair in _merged(source, where, problems, merging).items():
                    merged.setdefault(key, pair)
            continue
        key = str(key_node.value)
        if key in own:
            problems.append(
                BlueprintProblem(
                    _line(key_node),
                    f"{where}.{key}",
                    f"is given twice (also line {_line(own[key][0])})",
                )
            )
        own[key] = (key_node, value)
    return {**merged, **own}


def _unique(base: str, taken: set[str], separator: str) -> str:
    name, number = base, 1
    while name in taken:
        number += 1
        name = f"{base}{separator}{number}"
    return name


_POLICIES = [p.value for p in MaxmemoryPolicy]
_POLICY_WORDS = re.compile(
    "|".join(rf"\b{re.escape(p)}\b" for p in sorted(_POLICIES, key=len, reverse=True))
)


def _policy_spelling(reason: str, raw: str) -> str:
    """The provider's reason in the Blueprint's spelling: ``allkeys-lru``, not ``allkeys_lru``.

    Blueprints spell policies with hyphens, as Valkey does; the API (and the provider's
    messages) with underscores. A value written with underscores keeps them.
    """
    if "_" in raw and "-" not in raw:
        return reason
    return _POLICY_WORDS.sub(lambda match: match.group(0).replace("_", "-"), reason)


def _did_you_mean(value: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def read_blueprint(text: str, filename: str = "render.yaml") -> Blueprint:
    """The Blueprint's Key Value services; raises ``BlueprintError`` naming every bad line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = int(mark.line) + 1 if mark is not None else 1
        raise BlueprintError(
            filename, [BlueprintProblem(line, "(YAML)", str(err.problem or err))]
        ) from err
    except yaml.YAMLError as err:
        raise BlueprintError(filename, [BlueprintProblem(1, "(YAML)", str(err))]) from err
    reader = _Reader(filename)
    blueprint = reader.read(root)
    if reader.problems:
        # One anchor merged into several services can report the same problem for each.
        unique = list(dict.fromkeys(reader.problems))
        raise BlueprintError(filename, sorted(unique, key=lambda p: p.line))
    return blueprint
