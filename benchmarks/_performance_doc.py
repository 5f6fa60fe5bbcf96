"""The prose of ``docs/PERFORMANCE.md`` around the figures ``bench_targets.py`` measured.

The explanations describe mechanisms (which code makes which request, which schedule polls
when), so that a rerun on another machine does not contradict them. Tables and lists come from
the run that writes the document; the few numbers in the prose are the poll schedule's own
constants or say when they were measured.
"""

from __future__ import annotations

_SIM_HEADER = (
    "| D (s) | now: seen at (s) | now: / D | now: polls "
    "| proposed: seen at (s) | proposed: / D | proposed: polls |\n|---|---|---|---|---|---|---|"
)


def _lines(details: dict[str, list[str]], key: str) -> str:
    return "\n".join(details.get(key, ["(not measured)"]))


def _bullets(details: dict[str, list[str]], key: str) -> str:
    return "\n".join(f"- {line}" for line in details.get(key, ["(not measured)"]))


def render_doc(table: str, details: dict[str, list[str]], env: str, total: float) -> str:
    """The whole document, from the headline table and each section's detail lines."""
    return f"""# Performance

Written by `make bench` (`benchmarks/bench_targets.py`); do not edit by hand, rerun it.
Environment: {env}. The whole run took {total:.0f} s.

Timings are wall-clock on a shared 2-core machine: where a figure is repeated it is the median
(cold start: 9 alternating starts of each server; preview: 7 runs of 200 resources); the
readiness cases (D = 2, 10, 30 s) and the scale run are one run each, because their time is
dominated by the emulator's create delay, not by CPU. Nothing here is asserted by the tests.

## Summary

{table}

"result" is `pass`/`MISS` against the target; `-` marks a figure recorded without a target.
Every miss is explained in its section below, with what limits it.

## API calls per operation

One `KeyValue`, driven by the harness (`Engine`) through the SDK's own `python -m
pulumi.dynamic` server over gRPC, against the emulator (create and restart delays 0, so every
wait ends on its first status read; the workspace comes from `RENDER_OWNER_ID`, so no
`GET /owners`). Requests counted in the emulator's request log (`Emulator.requests()`), one
operation after the other on one stack.

| operation | requests | which | minimum | why that is the minimum | over |
|---|---|---|---|---|---|
{_lines(details, "API calls")}

Where we exceed the minimum, and why:

- **create, `GET list` (+1)**: `RenderClient.create_key_value` lists the same-named instances
  *before* it posts, so that after an ambiguous POST (timeout, dropped connection, 5xx) it can
  tell an instance its own attempt created from one that was already there (the duplicate-create
  guard of issue 9 items 1 and 2). It could list only after an ambiguous failure and tell its
  own instance by `createdAt` inside the POST's window, saving the request on every good create;
  that is a change to the client's create-recovery rule, left to that work.
- **every update that reaches the API, `GET connection-info` (+1)**: `KeyValueProvider._outputs`
  rebuilds the outputs from a fresh connection-info read after each update. None of these
  changes (policy, allow list, name, environment, plan) changes the connection strings, so the
  previous outputs could be carried over.
- **environment moves, `GET status` (+1)**: after moving the instance the provider reads it back
  for its `environmentId`, which the request already determined.
- **environment A -> B**: remove-then-add is what Render's documented endpoints guarantee; the
  emulator's add also leaves the old environment, so 1 request may do on Render too (unverified).
- Not shown (0 delays here): a create or a restarting update also reads the status until the
  instance is available; how many reads is the readiness section.
- Without a workspace configured (`render:ownerId` / `RENDER_OWNER_ID`) a create also makes one
  `GET /owners` to find the key's only workspace.

## Readiness

One create with the emulator's create delay D, in process (`KeyValueProvider.create`), once for
each D. "status polls" counts `GET /v1/key-value/{{id}}` requests. Target: create time ≤ 1.05 x D
+ 1 s, and a number of polls that grows with log D.

| D (s) | create time (s) | time / D | status polls |
|---|---|---|---|
{_lines(details, "readiness")}

The wait loop (`pulumi_render_kv/provider/_wait.py`) polls at once, then after 0.5 s, doubling
to at most 15 s: at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 30.5 s, then every 15 s. The instance is seen on
the first poll after D, so the overshoot is the gap that D falls into: up to 2 x D while the gaps
double (D = 2 s is seen at 3.5 s, D = 10 s at 15.5 s: both miss), then up to +15 s (D = 30 s
passes only because 30.5 s is a poll; D = 31 s would be seen at 45.5 s). The number of polls
grows with log D only up to the 15 s cap and linearly (D / 15 s) after it, and Render's creates
take minutes. Replaying the same loop on a fake clock, and a schedule that meets both targets
(next poll after 1 s + 5 % of the time waited so far: overshoot ≤ 0.05 x D + 1 s by
construction, polls ≈ log(1 + D/20) / log 1.05, no cap):

{_SIM_HEADER}
{_lines(details, "readiness-sim")}

**What limits it**: the poll schedule in `provider/_wait.py` (outside this change, which may
touch only the benchmark and `spec.py`). The proposed schedule costs more polls for short
creates (about 20 instead of 7 at D = 30 s), well inside Render's 400 GET/min.

## Cold start

Time from spawning a fresh `python -m pulumi.dynamic` (`ProviderServer`) to its answer to the
first `Check` (which unpickles the provider, importing its module, and configures it), for
`KeyValue` and for a trivial provider (`benchmarks/_trivial_provider.py`, which imports only
the SDK). Target: ratio ≤ 1.3. A further start with `PYTHONPROFILEIMPORTTIME=1` lists every
module the provider process imported; the emulator's (`pulumi_render_kv.emulator`, werkzeug,
cryptography, redis) must not be among them.

{_bullets(details, "cold start")}

Single starts spread widely on the shared machine, so the ratio moves from run to run (one
run while the test suite was running gave 2.3); the median above is the figure.

**What costs the extra time** (and limits the ratio where it misses): unpickling
`KeyValueProvider` imports `pulumi_render_kv`, whose `__init__` binds every public name, the
client's errors included, so the client package is imported too. Since issue 16 that no
longer loads the HTTP stack: httpx (with the connection pool and the auth hook,
`client/_http.py`) loads with the first `RenderClient`, tenacity with the first retried call,
and every pydantic model (the wire models, `spec.py`'s, the page adapters) builds its
validator on first use (`defer_build`), so a preview builds none
(`tests/provider/test_cold_start.py` checks both in a fresh process). What remains is
pydantic's own import (about 50 ms of CPU here, `SecretStr` and its `pydantic.types` a
quarter of it) and the package's modules (about 25 ms): the client package must bind its
model classes when imported (its `__all__` is checked against `vars()`), and the top-level
package must bind the client's error classes, so pydantic is imported by every provider
process. Taking it off the path would need the client's names bound lazily (module
`__getattr__`, with the public-API tests reading `dir()` rather than `vars()`), and
`spec.py`'s three models built on first use or made dataclasses (`IpAllowEntry` like
`LogStream`).

## Preview cost

`check` + `diff` per resource for 200 resources, in process, with engine-shaped inputs (as
`bench_planning.py` builds them): an existing stack's preview, so `check` gets the old inputs
(and plans the change) and `diff` the old outputs; no change is expected and none is found.
Targets: ≤ 0.1 ms per resource minimal, ≤ 0.5 ms with a 20-entry allow list. Zero API
requests are made (checked against the emulator).

{_bullets(details, "preview cost")}

Where the time goes: `check` validates the allow list (each CIDR parsed and printed in its
canonical form), then `check` and `diff` each convert the old and the new property dicts
from Pulumi's form (`provider/_convert.from_pulumi`, four walks per resource) and plan the
change. Since issue 16 the walks test exact types first (no ABC `isinstance` per value) and
convert leaves inline, planning compares two equal allow lists without building their sets,
and `spec.py` reads the plain IPv4 spelling (`203.0.113.10`, `10.20.0.0/16`) itself, leaving
IPv6, netmasks and every refusal (with its message) to the standard library's `ipaddress`,
which takes about 5 µs per entry (`tests/core/test_networks.py` checks that both read every
text alike). Parsed CIDRs are not cached: each text is parsed once per resource, so a cache
would mostly speed up this benchmark's 200 identical lists (each CLI command is a fresh
process).

## Scale

50 creates, then 50 deletes, run by a 4-thread pool calling the provider's `create`/`delete`
in one process with one shared client, as the engine drives them with `--parallel`: the SDK's
provider server runs at most 4 calls at once (`ThreadPoolExecutor(max_workers=4)` in
`pulumi/dynamic/__main__.py`), so parallelism 4. Emulator: create delay D = 10 s, Render's
limits (GET 400/min, writes 30/min) except creates, raised from 20/hour to 100/hour so that
50 creates can run at all; the client is told the same limits
(`RENDER_API_CLIENT_LIMITS=get=400/m,write=30/m,create=100/h`) and paces itself by them. D is
10 s because the client also counts each create in the 30/min write bucket (Render's docs do
not say whether creates use it): 4 creates every D seconds stay under 30/min only for D ≥ 8 s,
and below that the write limit, not readiness, would set the pace.

{_bullets(details, "scale")}

**Render's real bound**: 20 creates per hour per API key. 50 new instances therefore need at
least two hours however parallel the run (20 in the first hour-aligned window, 20 in the next,
10 in the third). The client's limiter refuses, before sending, a create whose slot lies past
its retry deadline (`ClientRateLimitedError`, a clear error rather than a 429), so on Render
such an `up` creates what the hour allows and a later `up` continues.

**What limits the create wall time**: the readiness overshoot, not parallelism: each create
waits until its first poll after D (15.5 s for D = 10 s), so 13 rounds of 4 take about
13 x 15.5 s; the "parallel efficiency" row divides by that. The deletes are bounded by the
30/min write budget, which the creates of the minute before have partly used.
"""
