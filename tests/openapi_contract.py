"""Validate JSON bodies against Render's published OpenAPI spec.

The spec lives outside the repository, in ``../shared/render-openapi/`` (override with
``RENDER_OPENAPI_DIR``); tests that need it are skipped with a clear reason when it is absent.

Validation is stricter than the spec itself: every object schema that lists properties is
closed (``additionalProperties: false``), so a field the spec does not know fails the test.
What Render really sends or accepts beyond the copied spec (2026-01-06) is named once, in
``DOCUMENTED_DEVIATIONS`` below, each with the evidence for it. Nothing else may deviate.

Both the client's and the emulator's contract tests use this module, so neither side can
pass by agreeing with the other: each is checked against the spec on its own.
"""

from __future__ import annotations

import copy
import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker

_ROOT = Path(__file__).resolve().parents[1]
_SPEC_FILE = "render-api-schema.json"


def _spec_path() -> Path | None:
    candidates = []
    if env := os.environ.get("RENDER_OPENAPI_DIR"):
        candidates.append(Path(env) / _SPEC_FILE)
    candidates.append(_ROOT.parent / "shared" / "render-openapi" / _SPEC_FILE)
    return next((path for path in candidates if path.is_file()), None)


SPEC_PATH = _spec_path()

requires_spec = pytest.mark.skipif(
    SPEC_PATH is None,
    reason="Render's OpenAPI spec not found in ../shared/render-openapi/ "
    "(set RENDER_OPENAPI_DIR to the folder holding render-api-schema.json)",
)


@dataclass(frozen=True)
class Deviation:
    """One documented difference between the copied spec and Render's real API."""

    what: str
    evidence: str


_PERSISTENCE_MODE = {"type": "string", "enum": ["journal_snapshot", "snapshot", "off"]}

DOCUMENTED_DEVIATIONS: dict[str, Deviation] = {
    "persistenceMode": Deviation(
        "`persistenceMode` in keyValueOptions/POST/PATCH inputs (and the redis* twins)",
        "[spec-new] in Render's current API reference, newer than the copied spec (SOURCE.txt)",
    ),
    "ipAllowList-null": Deviation(
        "an empty `ipAllowList` is sent as null in keyValue/keyValueDetail (and redis*)",
        "[observed] ../shared/render-traffic/: create and GET answers with `ipAllowList: null`",
    ),
    "error-code": Deviation(
        "optional machine-readable `code` in error bodies",
        "[spec-new] in Render's current API reference (error responses)",
    ),
    "redis-suspend-resume": Deviation(
        "POST /redis/{redisId}/suspend and /resume (202, no body)",
        "[spec-new] in Render's current API reference (Redis: suspend, resume)",
    ),
    "environment-ids-null": Deviation(
        "empty id lists (`databasesIds`, `redisIds`, `serviceIds`, `envGroupIds`) of an "
        "`environment` are sent as null (spec: arrays)",
        "[observed] ../shared/render-traffic/ (GET /environments/{id}, POST …/resources)",
    ),
    "environment-resources-201": Deviation(
        "POST /environments/{environmentId}/resources answers 201 (spec: 200)",
        "[observed] ../shared/render-traffic/ (POST /environments/{id}/resources → 201)",
    ),
    "metrics-point-unit": Deviation(
        "a metrics point (`values[]` of a time series) need not carry `unit`: the spec lists it "
        "as required there without declaring the property (the series has its own `unit`)",
        "[spec] /metrics/cpu 200: `values.items.required` names `unit`, `properties` lacks it, "
        "so no object could satisfy both once objects are closed",
    ),
}

# Paths the copied spec lacks but Render serves (see DOCUMENTED_DEVIATIONS).
_EXTRA_PATHS: dict[tuple[str, str], dict[int, str | None]] = {
    ("post", "/redis/{redisId}/suspend"): {202: None},
    ("post", "/redis/{redisId}/resume"): {202: None},
}


_ENVIRONMENT_RESOURCES = "/environments/{environmentId}/resources"


def _patched_components(spec: dict[str, Any]) -> dict[str, Any]:
    schemas = copy.deepcopy(spec["components"]["schemas"])
    for name in ("keyValueOptions", "redisOptions"):
        schemas[name]["properties"]["persistenceMode"] = _PERSISTENCE_MODE
    for name in ("keyValuePOSTInput", "keyValuePATCHInput", "redisPOSTInput", "redisPATCHInput"):
        schemas[name]["properties"]["persistenceMode"] = _PERSISTENCE_MODE
    for name in ("keyValue", "keyValueDetail", "redis", "redisDetail"):
        schemas[name]["properties"]["ipAllowList"]["nullable"] = True
    for key in ("databasesIds", "redisIds", "serviceIds", "envGroupIds"):
        schemas["environment"]["properties"][key]["nullable"] = True
    schemas["error"]["properties"]["code"] = {"type": "string"}
    return schemas


def _patched_paths(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with DOCUMENTED_DEVIATIONS["metrics-point-unit"] applied (the other metrics
    routes $ref this one's response)."""
    spec = copy.deepcopy(spec)
    series = spec["paths"]["/metrics/cpu"]["get"]["responses"]["200"]["content"]
    point = series["application/json"]["schema"]["items"]["properties"]["values"]["items"]
    point["required"] = [name for name in point["required"] if name in point["properties"]]
    return spec


class _Contract:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec = _patched_paths(spec)
        # The document $refs are resolved against: the spec with the deviations applied.
        self.document = {**spec, "components": {**spec["components"]}}
        self.document["components"]["schemas"] = _patched_components(spec)

    def resolve(self, node: Any, seen: tuple[str, ...] = ()) -> Any:
        """Inline every $ref and close every object schema that lists its properties."""
        if isinstance(node, list):
            return [self.resolve(item, seen) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            ref: str = node["$ref"]
            if ref in seen:  # recursive schema: stop expanding, accept anything
                return {}
            target: Any = self.document
            for part in unquote(ref).removeprefix("#/").split("/"):
                key = part.replace("~1", "/").replace("~0", "~")
                target = target[int(key)] if isinstance(target, list) else target[key]
            return self.resolve(target, (*seen, ref))
        out = {key: self.resolve(value, seen) for key, value in node.items()}
        if out.get("type") == "object" and "properties" in out:
            out.setdefault("additionalProperties", False)
        return out

    def operation(self, method: str, path: str) -> dict[str, Any]:
        try:
            return self.spec["paths"][path][method.lower()]  # type: ignore[no-any-return]
        except KeyError as exc:
            raise AssertionError(f"{method.upper()} {path} is not in Render's spec") from exc

    def response_schema(self, method: str, path: str, status: int) -> dict[str, Any] | None:
        extra = _EXTRA_PATHS.get((method.lower(), path))
        if extra is not None:
            if status not in extra:
                raise AssertionError(f"{method} {path} has no documented {status} response")
            return None
        if (method.lower(), path, status) == (
            "post",
            "/environments/{environmentId}/resources",
            201,
        ):
            status = 200
        responses = self.operation(method, path)["responses"]
        if str(status) not in responses:
            raise AssertionError(
                f"Render's spec declares no {status} for {method.upper()} {path} "
                f"(declared: {sorted(responses)})"
            )
        response = self.resolve(responses[str(status)])
        content = response.get("content")
        if not content:
            return None
        return content["application/json"]["schema"]  # type: ignore[no-any-return]

    def request_schema(self, method: str, path: str) -> dict[str, Any]:
        body = self.operation(method, path).get("requestBody")
        if body is None:
            raise AssertionError(f"{method.upper()} {path} takes no request body in Render's spec")
        return self.resolve(body)["content"]["application/json"]["schema"]  # type: ignore[no-any-return]


@functools.cache
def _contract() -> _Contract:
    if SPEC_PATH is None:
        pytest.skip("Render's OpenAPI spec is not available")
    return _Contract(json.loads(SPEC_PATH.read_text()))


def _validate(schema: dict[str, Any], body: Any, what: str) -> None:
    validator = OAS30Validator(schema, format_checker=oas30_format_checker)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        details = "\n".join(
            f"  at {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors
        )
        raise AssertionError(f"{what} does not match Render's spec:\n{details}")


def validate_response(method: str, path_template: str, status: int, body: Any) -> None:
    """Assert that ``body`` is what Render's spec allows for this operation and status.

    ``path_template`` is the spec's path without the ``/v1`` prefix, e.g.
    ``/key-value/{keyValueId}``. ``body`` is the parsed JSON, or None for an empty body.
    """
    schema = _contract().response_schema(method, path_template, status)
    what = f"{method.upper()} {path_template} → {status} body"
    if schema is None:
        if body not in (None, b"", ""):
            raise AssertionError(f"{what} must be empty, got {body!r}")
        return
    _validate(schema, body, what)


def validate_request_body(method: str, path_template: str, body: Any) -> None:
    """Assert that a request body is one Render's spec accepts for this operation."""
    schema = _contract().request_schema(method, path_template)
    _validate(schema, body, f"{method.upper()} {path_template} request body")
