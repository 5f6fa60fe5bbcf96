"""The prose of ``docs/PERFORMANCE.md`` around the figures ``bench_targets.py`` measured.

The explanations describe mechanisms (which code makes which request, which schedule polls
when), so that a rerun on another machine does not contradict them. Tables and lists come from
the run that writes the document; the few numbers in the prose are the poll schedule's own
constants or say when they were measured.
"""

from __future__ import annotations

_SIM_HEADER = (
    "| D (s) | doubling: seen at (s) | doubling: / D | doubling: polls "
    "| now: seen at (s) | now: / D | now: <= 1.05 x D + 1 s | now: polls |\n"
    "|---|---|---|---|---|---|---|---|"
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
readiness cases (D = 2, 10, 30, 31, 120 s) and the scale run are one run each, because their time is
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

Where the minimum has a read in it, and why:

- **create, `GET list`**: `KeyValueProvider.create` lists the same-named instances *before* it
  posts: a program's second resource with a taken name is refused (`NameTaken`) instead of
  silently becoming a same-named twin that the user pays for twice (issue 13), and after an
  ambiguous POST (timeout, dropped connection, 5xx) the client can tell an instance its own
  attempt created from one that was already there. So it counts in the minimum.
- **updates carry the connection strings over** (`KeyValueProvider._updated_outputs`): they are
  named by the instance id, its region and its password, which no in-place change touches. A
  resume reads them again (a resumed server may come back on other endpoints: the emulator's
  does when its old ports were taken, and Render does not say), and so does leaving the free
  plan (all data is lost: a new server, in effect), which this sequence does not run
  (`tests/acceptance/test_api_calls.py` counts it: PATCH, 1 status read, 1 connection-info read).
- **environment moves read nothing back**: the request determined the new `environmentId`.
- **environment A -> B**: remove-then-add is what Render's documented endpoints guarantee; the
  emulator's add also leaves the old environment, so 1 request may do on Render too (unverified).
- Not shown (0 delays here): a create or a restarting update also reads the status until the
  instance is available; how many reads is the readiness section.
- Without a workspace configured (`render:ownerId` / `RENDER_OWNER_ID`) a create also makes one
  `GET /owners` to find the key's only workspace.

## Readiness

One create with the emulator's create delay D, then one restarting update (the maxmemory
policy) with its restart delay D, in process (`KeyValueProvider.create` and `.update`), once
for each D. "polls" counts `GET /v1/key-value/{{id}}` requests. Target: time ≤ 1.05 x D + 1 s,
and a number of polls that grows with log D.

| D (s) | create (s) | create / D | create polls | restart (s) | restart / D | restart polls |
|---|---|---|---|---|---|---|
{_lines(details, "readiness")}

The wait loop (`pulumi_render_kv/core/_wait.py`) reads the status at once, then each next
time 0.75 s + 5 % of the time waited so far after the previous read started (at most 60 s, which
it reaches after about 20 minutes). An instance ready after D seconds is therefore seen by
D + 0.75 s + 0.05 x D, for every D: the target's remaining 0.25 s is for the requests around the
wait (the same-name list and the POST before it, the connection-info read after it, each read's
own latency). The number of reads is about 1 + log(1 + D / 15 s) / log 1.05: logarithmic.
Replaying that loop on a fake clock, against the doubling schedule it replaced (at once, then
gaps from 0.5 s doubling to 15 s: D = 10 s was seen at 15.5 s, D = 31 s at 45.5 s):

{_SIM_HEADER}
{_lines(details, "readiness-sim")}

The price is more reads for short creates (24 instead of 7 at D = 30 s, 47 instead of 13 at
D = 120 s). Many waits at once share one `PollPacer` per client: their reads together stay at
3/4 of the client's read limit (Render's 400 GET/min: 5 reads/s, bursts of 10), spread
evenly. Without it, 50 waits at about one read a second each would ask for about 3000 GET/min;
the client's sliding-window limiter would let 400 through and then hold back every read,
connection info included, for the rest of its minute. On a virtual clock 50 waits make at
most 309 reads in any minute, the limiter never steps in, and each instance is seen at most
8.2 s late (`tests/provider/test_wait.py`). With 4 waits in flight (the SDK's parallelism) the
reads stay under the pacer's rate, so it rarely holds one back.

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
`KeyValueProvider` imports `pulumi_render_kv` and `provider/provider.py`, and with them the
pure core (`catalog`, `spec`, `planning`) and the provider's own modules: about 15 ms of
imports here (`difflib` and `unicodedata` for the messages among them). Since issue 16
nothing else loads before the first Check: neither the client nor pydantic. The client's
errors and `IpAllowEntry` are bound on first use (module `__getattr__`, so `from
pulumi_render_kv import RenderError` works as before and the public-API test reads `dir()`),
`spec`'s three pydantic models live in `spec/_models.py` and load with the first create or
update, and the provider imports the client (httpx with the first `RenderClient`, tenacity
with the first retried call) inside the methods that call the API. Every pydantic model
builds its validator on first use too (`defer_build`). `tests/provider/test_cold_start.py`
checks in a fresh process that a preview's Checks, Diff and a shown error load neither the
HTTP stack, nor pydantic, nor the client, and build no model. What remains over the trivial
provider is those 15 ms and the spread of single starts on a shared machine.

## Preview cost

`check` + `diff` per resource for 200 resources, in process, with engine-shaped inputs (as
`bench_planning.py` builds them): an existing stack's preview, so `check` gets the old inputs
(and plans the change) and `diff` the old outputs; no change is expected and none is found.
Targets: ≤ 0.1 ms per resource minimal, ≤ 0.5 ms with a 20-entry allow list. Zero API
requests are made (checked against the emulator).

{_bullets(details, "preview cost")}

Where the time goes: `check` validates the allow list (each CIDR parsed and printed in its
canonical form), then `check` and `diff` each convert the old and the new property dicts
from Pulumi's form (`core/_convert.from_pulumi`, four walks per resource) and plan the
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

**What limits the create wall time**: the create delay and readiness overshoot: each create
waits until its first poll after D (10.66 s for D = 10 s on the schedule), plus its requests, so
13 rounds of 4 take about 13 x 10.7 s; the "parallel efficiency" row divides by the schedule's
figure. The write limit does not: the client counts each create in the 30/min write bucket as
well as the create bucket (Render's docs do not say whether it does; its create answers carry
the create bucket's headers), and 4 creates every 10.7 s are 22 a minute. The deletes are
bounded by the 30/min write budget, which the creates of the minute before have partly used.
"""
