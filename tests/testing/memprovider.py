"""A tiny dynamic provider for the harness's own tests: objects kept in a JSON file.

The file lives in a test's tmp dir, so objects survive across RPCs inside the provider
server process, and a test can read (what the provider was called with) and edit (drift,
out-of-band deletes) it directly. The class lives in an importable module, so it is pickled
by reference and the server imports this module (PYTHONPATH includes this directory).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown
from pulumi.runtime.rpc import wrap_rpc_secret

_LOCK = threading.Lock()
INPUT_KEYS = ("name", "size", "region", "tags", "token", "note")


class Store:
    """The JSON file: ``objects`` by id, a ``log`` of provider calls, a ``counter``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, Any]:
        if not self.path.exists():
            return {"objects": {}, "log": [], "counter": 0}
        data: dict[str, Any] = json.loads(self.path.read_text())
        return data

    def save(self, data: dict[str, Any]) -> None:
        self.path.write_text(json.dumps(data, indent=1, sort_keys=True))

    @property
    def objects(self) -> dict[str, dict[str, Any]]:
        return dict(self.load()["objects"])

    def log(self, method: str | None = None) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.load()["log"]
        return [e for e in entries if method is None or e["method"] == method]

    def edit(self, id_: str, **changes: Any) -> None:
        """Change an object out of band (drift)."""
        with _LOCK:
            data = self.load()
            data["objects"][id_].update(changes)
            self.save(data)

    def remove(self, id_: str) -> None:
        """Delete an object out of band."""
        with _LOCK:
            data = self.load()
            del data["objects"][id_]
            self.save(data)


def _describe(props: dict[str, Any]) -> dict[str, str]:
    return {k: type(v).__name__ for k, v in props.items() if k != "__provider"}


def _plain(props: dict[str, Any]) -> dict[str, Any]:
    return {
        k: ("<unknown>" if isinstance(v, Unknown) else v)
        for k, v in props.items()
        if k != "__provider"
    }


class MemProvider(ResourceProvider):
    """Objects with inputs name/size/region/tags/token/note and outputs endpoint/password.

    ``check`` requires ``name`` and a positive ``size`` and defaults ``region`` from the
    stack config (``defaultRegion``). ``diff`` compares inputs with the old outputs and asks
    for replacement on ``replace_on`` keys; with ``unknown_diff`` it returns the default
    ``DiffResult()`` (DIFF_UNKNOWN). A ``name`` of ``explode`` makes create fail.
    """

    def __init__(
        self,
        store: str,
        *,
        replace_on: tuple[str, ...] = ("region",),
        ask_delete_before_replace: bool = False,
        unknown_diff: bool = False,
        return_inputs_on_read: bool = True,
    ) -> None:
        self.store = store
        self.replace_on = list(replace_on)
        self.ask_delete_before_replace = ask_delete_before_replace
        self.unknown_diff = unknown_diff
        self.return_inputs_on_read = return_inputs_on_read
        self.default_region = "oregon"

    def _record(self, method: str, **fields: Any) -> None:
        store = Store(Path(self.store))
        with _LOCK:
            data = store.load()
            data["log"].append({"method": method, **fields})
            store.save(data)

    def configure(self, req: ConfigureRequest) -> None:
        region = req.config.get("defaultRegion")
        if region:
            self.default_region = region
        self._record(
            "configure",
            default_region=region,
            has_token=req.config.get("token") is not None,
            other_namespace=req.config.get("other:flag"),
            project=pulumi.get_project(),
            env_mark=os.environ.get("HARNESS_MARK"),
        )

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        self._record("check", olds=_plain(_olds), news=_plain(news), news_types=_describe(news))
        failures = []
        if "name" not in news:
            failures.append(CheckFailure("name", "name is required"))
        size = news.get("size")
        if not isinstance(size, Unknown) and (not isinstance(size, float) or size <= 0):
            failures.append(CheckFailure("size", "size must be a positive number"))
        inputs = dict(news)
        inputs.setdefault("region", self.default_region)
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        self._record("diff", id=_id, olds=_plain(olds), news=_plain(news))
        if self.unknown_diff:
            return DiffResult()
        keys = sorted(
            k
            for k in set(news) | {k for k in olds if k in INPUT_KEYS}
            if not k.startswith("__") and olds.get(k) != news.get(k)
        )
        return DiffResult(
            changes=bool(keys),
            replaces=[k for k in keys if k in self.replace_on],
            delete_before_replace=self.ask_delete_before_replace,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        self._record("create", props=_plain(props))
        if props.get("name") == "explode":
            raise ValueError("cannot create 'explode': quota exceeded\nfix: ask for more quota")
        store = Store(Path(self.store))
        with _LOCK:
            data = store.load()
            data["counter"] += 1
            id_ = f"obj-{data['counter']}"
            obj = {k: v for k, v in props.items() if not k.startswith("__")}
            obj["endpoint"] = f"mem://{id_}"
            obj["password"] = f"pw-{id_}"
            data["objects"][id_] = obj
            store.save(data)
        print(f"memprovider: created {id_}", file=sys.stderr)
        pulumi.log.info(f"created {id_} via pulumi.log")
        outs = dict(obj)
        outs["password"] = wrap_rpc_secret(obj["password"])
        return CreateResult(id_, outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        self._record("read", id=id_, props=_plain(props))
        obj = Store(Path(self.store)).objects.get(id_)
        if obj is None:
            return ReadResult("", {})
        inputs = {k: obj[k] for k in INPUT_KEYS if k in obj}
        return ReadResult(id_, dict(obj), inputs if self.return_inputs_on_read else None)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        self._record("update", id=id_, olds=_plain(olds), news=_plain(news))
        store = Store(Path(self.store))
        with _LOCK:
            data = store.load()
            obj = data["objects"][id_]
            for key in INPUT_KEYS:
                obj.pop(key, None)
            obj.update({k: v for k, v in news.items() if not k.startswith("__")})
            store.save(data)
        outs = dict(obj)
        outs["password"] = wrap_rpc_secret(obj["password"])
        return UpdateResult(outs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        self._record("delete", id=id_, props=_plain(props))
        store = Store(Path(self.store))
        with _LOCK:
            data = store.load()
            data["objects"].pop(id_, None)
            store.save(data)


class MemResource(Resource, module="memprov", name="MemResource"):
    """The program-side resource for :class:`MemProvider`."""

    endpoint: pulumi.Output[str]
    password: pulumi.Output[str]
    size: pulumi.Output[float]
    region: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        props: dict[str, Any],
        provider: MemProvider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            provider,
            name,
            {"endpoint": None, "password": None, "region": None, **props},
            opts,
        )
