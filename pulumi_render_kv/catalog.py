"""Facts about Render Key Value, as data.

Everything here comes from Render's API reference (https://api-docs.render.com) and its Key
Value docs (https://render.com/docs/key-value), checked against recorded traffic: the enums
with their exact wire spelling, the plan order that makes plan changes
upgrade-only, the plan sizes, the workloads we offer, and — in ``CHANGE_RULES`` — what a
change of each property does to a running instance. Validation (``spec``) and planning
(``planning``) read these tables; nothing else restates them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum


class Plan(StrEnum):
    """Render's named Key Value plans, smallest first (custom plans are account-specific)."""

    FREE = "free"
    STARTER = "starter"
    STANDARD = "standard"
    PRO = "pro"
    PRO_PLUS = "pro_plus"
    CUSTOM = "custom"


class Region(StrEnum):
    """Regions a Key Value instance can live in."""

    FRANKFURT = "frankfurt"
    OREGON = "oregon"
    OHIO = "ohio"
    SINGAPORE = "singapore"
    VIRGINIA = "virginia"


class MaxmemoryPolicy(StrEnum):
    """What Valkey evicts when memory is full (API spelling: underscores)."""

    NOEVICTION = "noeviction"
    ALLKEYS_LFU = "allkeys_lfu"
    ALLKEYS_LRU = "allkeys_lru"
    ALLKEYS_RANDOM = "allkeys_random"
    VOLATILE_LFU = "volatile_lfu"
    VOLATILE_LRU = "volatile_lru"
    VOLATILE_RANDOM = "volatile_random"
    VOLATILE_TTL = "volatile_ttl"


class PersistenceMode(StrEnum):
    """How a paid instance keeps data across restarts (free instances have none)."""

    JOURNAL_SNAPSHOT = "journal_snapshot"
    SNAPSHOT = "snapshot"
    OFF = "off"


class Workload(StrEnum):
    """What the instance is for; picks a safe eviction policy and persistence."""

    CACHE = "cache"
    QUEUE = "queue"
    SESSION = "session"


DEFAULT_REGION = Region.OREGON

# Upgrade order: Render moves a Key Value instance to a larger plan only. Custom plans are
# larger than every named plan;
# two custom plans cannot be compared, so changes between them are left to Render.
PLAN_RANK: dict[str, int] = {
    Plan.FREE.value: 0,
    Plan.STARTER.value: 1,
    Plan.STANDARD.value: 2,
    Plan.PRO.value: 3,
    Plan.PRO_PLUS.value: 4,
}
CUSTOM_PLAN_RANK = 5

EVICTING_POLICIES = frozenset(p for p in MaxmemoryPolicy if p is not MaxmemoryPolicy.NOEVICTION)


@dataclass(frozen=True)
class WorkloadProfile:
    """The settings a workload implies, and the policies that contradict it."""

    policy: MaxmemoryPolicy
    persistence: PersistenceMode | None  # None: Render's default for the plan
    forbidden_policies: frozenset[MaxmemoryPolicy]
    forbidden_persistence: frozenset[PersistenceMode]
    why: str


WORKLOADS: dict[Workload, WorkloadProfile] = {
    Workload.CACHE: WorkloadProfile(
        policy=MaxmemoryPolicy.ALLKEYS_LRU,
        persistence=None,
        forbidden_policies=frozenset({MaxmemoryPolicy.NOEVICTION}),
        forbidden_persistence=frozenset(),
        why="a cache must evict when full, or writes fail with OOM errors",
    ),
    Workload.QUEUE: WorkloadProfile(
        policy=MaxmemoryPolicy.NOEVICTION,
        persistence=PersistenceMode.JOURNAL_SNAPSHOT,
        forbidden_policies=EVICTING_POLICIES,
        forbidden_persistence=frozenset({PersistenceMode.OFF}),
        why="a job queue must never silently drop jobs",
    ),
    Workload.SESSION: WorkloadProfile(
        policy=MaxmemoryPolicy.ALLKEYS_LRU,
        persistence=None,
        forbidden_policies=frozenset(),
        forbidden_persistence=frozenset(),
        why="",
    ),
}


class ChangeKind(Enum):
    """What changing a property does to a running instance."""

    IN_PLACE = "in place"  # PATCH, no restart
    RESTART = "restarts the instance"  # PATCH; Render restarts it (~1-2 minutes unavailable)
    MOVE = "moves it between environments"  # environments API, no restart
    REPLACE = "replaces the instance"  # cannot be patched: a new instance, all data lost
    SUSPEND = "suspends or resumes the instance"  # its own endpoints; suspended refuses clients
    LOG_STREAM = "sets the log-stream override"  # /logs/streams/resource/{id}, no restart
    LOCAL = "provider setting"  # never sent to Render


@dataclass(frozen=True)
class ChangeRule:
    kind: ChangeKind
    patch_field: str | None = None  # the PATCH body field that carries the change


# Per input property (camelCase, as in state): how a change is applied.
CHANGE_RULES: dict[str, ChangeRule] = {
    "name": ChangeRule(ChangeKind.IN_PLACE, "name"),
    "ipAllowList": ChangeRule(ChangeKind.IN_PLACE, "ipAllowList"),
    "logStream": ChangeRule(ChangeKind.LOG_STREAM),
    "plan": ChangeRule(ChangeKind.RESTART, "plan"),
    "maxmemoryPolicy": ChangeRule(ChangeKind.RESTART, "maxmemoryPolicy"),
    "persistenceMode": ChangeRule(ChangeKind.RESTART, "persistenceMode"),
    "environmentId": ChangeRule(ChangeKind.MOVE),
    "suspended": ChangeRule(ChangeKind.SUSPEND),
    "region": ChangeRule(ChangeKind.REPLACE),
    "ownerId": ChangeRule(ChangeKind.REPLACE),
    "workload": ChangeRule(ChangeKind.LOCAL),
    "deletionProtection": ChangeRule(ChangeKind.LOCAL),
    # Whether the program registered the resource with Pulumi's protect (see spec).
    "pulumiProtect": ChangeRule(ChangeKind.LOCAL),
    "allowDataLoss": ChangeRule(ChangeKind.LOCAL),
    "adoptExisting": ChangeRule(ChangeKind.LOCAL),
    "allowDuplicateName": ChangeRule(ChangeKind.LOCAL),
    "waitTimeout": ChangeRule(ChangeKind.LOCAL),
}

REPLACING_PROPERTIES = tuple(p for p, r in CHANGE_RULES.items() if r.kind is ChangeKind.REPLACE)

# Statuses, as the API reports them. Serving traffic, even with maintenance planned:
READY_STATUSES = frozenset({"available", "maintenance_scheduled"})
# Render will not leave these by itself: waiting longer cannot help. Every other status
# (`unknown` from a fresh create, `creating`, the restart states, new ones) is waited out.
FAILED_STATUSES = frozenset({"suspended", "recovery_failed"})
SUSPENDED_STATUS = "suspended"

DASHBOARD_URL = "https://dashboard.render.com/r/{id}"
RESTART_DOWNTIME = "about 1-2 minutes"


def plan_rank(plan: str) -> int:
    """Position of a plan in the upgrade order; custom plans rank above all named ones."""
    return PLAN_RANK.get(plan, CUSTOM_PLAN_RANK)


# Plan sizes from Render's pricing page (RAM in MiB, connection limit), as the emulator gives
# its servers: what `render-kv doctor` measures used memory and connections against. Custom
# plans are account-specific and have no entry.
@dataclass(frozen=True)
class PlanSize:
    memory_mb: int
    connections: int


PLAN_SIZES: dict[str, PlanSize] = {
    Plan.FREE.value: PlanSize(memory_mb=25, connections=50),
    Plan.STARTER.value: PlanSize(memory_mb=256, connections=250),
    Plan.STANDARD.value: PlanSize(memory_mb=1024, connections=1000),
    Plan.PRO.value: PlanSize(memory_mb=5 * 1024, connections=5000),
    Plan.PRO_PLUS.value: PlanSize(memory_mb=10 * 1024, connections=10000),
}


def next_plan(plan: str) -> str | None:
    """The next larger named plan (the upgrade to suggest), or None past ``pro_plus``."""
    rank = PLAN_RANK.get(plan)
    if rank is None:
        return None
    return next((name for name, r in PLAN_RANK.items() if r == rank + 1), None)
