"""What a provider process pays for before its first Check: no HTTP stack, no model building.

Every `pulumi preview` starts a fresh provider process whose first Check waits for the
provider's module to import (issue 16, target 3). Check and Diff never call the API, so the
HTTP client (httpx, tenacity) must load on the first call that needs it, and pydantic must
not build a model's validator until something validates with it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The provider process as the SDK's server has it when it unpickles the provider (the blob
# names KeyValueProvider by reference, so unpickling is importing its module), then a
# preview: a create's Check, an update's Check and a Diff, all with a 2-entry allow list.
_PREVIEW_IN_A_FRESH_PROCESS = """
import json, sys
import pulumi.dynamic
from pulumi_render_kv.provider.provider import KeyValueProvider

provider = KeyValueProvider()
news = {
    "__provider": "blob", "name": "cold", "plan": "starter", "workload": "cache",
    "ipAllowList": [{"cidrBlock": "203.0.113.0/24", "description": "office"}, "10.0.0.1"],
}
created = provider.check({}, news)
assert created.failures == [], created.failures
olds = {**created.inputs, "__provider": "blob"}
updated = provider.check(olds, {**news, "plan": "standard"})
assert updated.failures == [], updated.failures
diff = provider.diff("red-x", {**olds, "ownerId": "tea-x"}, {**updated.inputs, "__provider": "b"})
assert diff.changes, diff

from pydantic import BaseModel

def models(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from models(sub)

built = sorted(
    f"{m.__module__}.{m.__qualname__}"
    for m in set(models(BaseModel))
    if m.__module__.startswith("pulumi_render_kv") and m.__pydantic_complete__
)
print(json.dumps({"modules": sorted(sys.modules), "built": built}))
"""


def _preview_in_a_fresh_process() -> dict[str, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", _PREVIEW_IN_A_FRESH_PROCESS],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result: dict[str, list[str]] = json.loads(done.stdout)
    return result


def test_a_preview_loads_no_http_client_and_builds_no_model() -> None:
    found = _preview_in_a_fresh_process()
    loaded = set(found["modules"])
    http_stack = {"httpx", "httpcore", "h11", "tenacity", "pulumi_render_kv.client._http"}
    assert not http_stack & loaded, sorted(http_stack & loaded)
    assert found["built"] == []


# In a fresh process: every deferred model is built before the first call that validates one
# can run in the SDK server's worker threads (pydantic's own first-use build was not
# thread-safe in releases this package accepts): by the first client, and by the first spec.
_FIRST_CLIENT_AND_SPEC = """
import json
from pydantic import BaseModel
from pulumi_render_kv.client import RenderClient, RenderSettings
from pulumi_render_kv.spec import KeyValueSpec, normalize_inputs

def models(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from models(sub)

def unbuilt(prefix):
    return sorted(
        m.__qualname__
        for m in set(models(BaseModel))
        if m.__module__.startswith(prefix) and not m.__pydantic_complete__
    )

before = {"client": unbuilt("pulumi_render_kv.client"), "spec": unbuilt("pulumi_render_kv.spec")}
settings = RenderSettings.resolve(
    api_key="rnd_coldStartKey", owner_id="tea-x", base_url="http://127.0.0.1:1/v1"
)
RenderClient(settings).close()
canonical, problems = normalize_inputs({"name": "c", "plan": "starter", "workload": "cache"})
assert not problems, problems
KeyValueSpec.from_inputs(canonical)
after = {"client": unbuilt("pulumi_render_kv.client"), "spec": unbuilt("pulumi_render_kv.spec")}
print(json.dumps({"before": before, "after": after}))
"""


def test_the_first_client_and_the_first_spec_build_every_deferred_model() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_CLIENT_AND_SPEC],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    found = json.loads(done.stdout)
    assert "KeyValueDetail" in found["before"]["client"]  # deferred at import
    assert "KeyValueSpec" in found["before"]["spec"]
    assert found["after"] == {"client": [], "spec": []}
