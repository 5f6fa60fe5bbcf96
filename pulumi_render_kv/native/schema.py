"""The package schema of ``render-kv``: what Pulumi YAML checks, and SDKs are generated from.

Built from the catalog, so the enums, the replace-on-change properties and the secrets are
the ones the core enforces: nothing here is a second copy of a rule.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from pulumi_render_kv import catalog
from pulumi_render_kv.core._convert import SECRET_OUTPUTS
from pulumi_render_kv.spec import AS_IS, DEFAULT_WAIT_TIMEOUT, MAX_WAIT_TIMEOUT

PACKAGE = "render-kv"
VERSION = "0.1.0"
KEY_VALUE = f"{PACKAGE}:index:KeyValue"
GET_KEY_VALUE = f"{PACKAGE}:index:getKeyValue"
IP_ALLOW_ENTRY = f"{PACKAGE}:index:IpAllowEntry"
LOG_STREAM = f"{PACKAGE}:index:LogStream"
MAINTENANCE = f"{PACKAGE}:index:Maintenance"
# Environment variables the provider config falls back to (then `render:*` is not read).
CONFIG_ENV = {
    "apiKey": "RENDER_API_KEY",
    "apiUrl": "RENDER_API_URL",
    "ownerId": "RENDER_OWNER_ID",
}


def _enum(values: Iterable[str], description: str) -> dict[str, Any]:
    return {"type": "string", "description": f"{description} One of: {', '.join(values)}."}


def _ref(token: str) -> str:
    return f"#/types/{token}"


def _as_is_or(schema: dict[str, Any], description: str) -> dict[str, Any]:
    """A property that also takes ``"as-is"``: left as it is in Render, never drift."""
    return {
        "oneOf": [schema, {"type": "string"}],
        "description": f'{description} "{AS_IS}" leaves it as it is in Render (no drift).',
    }


_INPUTS: dict[str, dict[str, Any]] = {
    "name": {
        "type": "string",
        "description": "The instance's name in Render (defaults to the resource name). "
        "Changed in place.",
    },
    "plan": _enum(
        (p.value for p in catalog.Plan if p is not catalog.Plan.CUSTOM),
        "Render plan. Plans can only be upgraded; free → paid deletes the data and needs "
        "allowDataLoss. A plan change restarts the instance.",
    ),
    "region": _enum(
        (r.value for r in catalog.Region),
        f"Region (default {catalog.DEFAULT_REGION.value}). Changing it replaces the instance, "
        "losing its data: it needs allowDataLoss.",
    ),
    "workload": _enum(
        (w.value for w in catalog.Workload),
        "What the instance is for; picks a safe eviction policy and persistence. Give it or "
        "maxmemoryPolicy.",
    ),
    "maxmemoryPolicy": _enum(
        (p.value for p in catalog.MaxmemoryPolicy),
        "What Valkey evicts when memory is full (default: from workload). A change restarts "
        "the instance.",
    ),
    "persistenceMode": _enum(
        (p.value for p in catalog.PersistenceMode),
        "How a paid instance keeps data across restarts (default: from workload and plan; "
        "free instances have none). A change restarts the instance.",
    ),
    "ipAllowList": {
        "type": "array",
        "items": {"oneOf": [{"$ref": _ref(IP_ALLOW_ENTRY)}, {"type": "string"}]},
        "description": "CIDR blocks that may reach the external (TLS) endpoint, as entries or "
        "bare CIDR strings; empty admits none. Compared as a set: reordering is no change.",
    },
    "logStream": _as_is_or(
        {"$ref": _ref(LOG_STREAM)},
        "The instance's own log stream, overriding the workspace's; left out, the workspace "
        "default.",
    ),
    "environmentId": {
        "type": "string",
        "description": "The Render environment (evm-…) the instance belongs to. Moved in place.",
    },
    "ownerId": {
        "type": "string",
        "description": "The workspace (tea-…/usr-…); default: the provider's ownerId, else the "
        "only workspace the API key sees. Changing it replaces the instance.",
    },
    "suspended": _as_is_or(
        {"type": "boolean"},
        "true suspends the instance (it refuses every connection); false resumes it and waits "
        "until it is available.",
    ),
    "deletionProtection": {
        "type": "boolean",
        "description": "Refuse to delete or replace the instance while true.",
    },
    "allowDataLoss": {
        "type": "boolean",
        "description": "Consent, for one update, to a change that loses the instance's data "
        "(a replacement, free → paid).",
    },
    "adoptExisting": {
        "type": "boolean",
        "description": "Take over the instance already called name in the workspace and region "
        "instead of creating one.",
    },
    "allowDuplicateName": {
        "type": "boolean",
        "description": "Create a second instance although one with this name exists.",
    },
    "waitTimeout": {
        "type": "number",
        "description": f"Seconds to wait for the instance to become available (default "
        f"{DEFAULT_WAIT_TIMEOUT:g}, at most {MAX_WAIT_TIMEOUT:g}). A create that does not "
        "become ready in time is still recorded in state, and the next up waits again.",
    },
    "maintenanceScheduledAt": {
        "type": "string",
        "description": "Move the pending maintenance run to this time (ISO-8601 with an "
        "offset), no later than its pendingMaintenanceBy; satisfied once Render has it there, "
        "moot while no run is pending.",
    },
}

_OUTPUTS: dict[str, dict[str, Any]] = {
    "status": {"type": "string", "description": "Render's status (available, creating, …)."},
    "version": {"type": "string", "description": "The Valkey version."},
    "dashboardUrl": {"type": "string", "description": "The instance in Render's Dashboard."},
    "internalConnectionString": {
        "type": "string",
        "description": "redis:// URL on Render's private network (secret).",
    },
    "externalConnectionString": {
        "type": "string",
        "description": "rediss:// URL from outside Render, for ipAllowList addresses (secret).",
    },
    "cliCommand": {"type": "string", "description": "A redis-cli command line (secret)."},
    "host": {"type": "string", "description": "The internal host name."},
    "port": {"type": "integer", "description": "The internal port."},
    "internalAuthEnabled": {
        "type": "boolean",
        "description": "Whether internal connections need the password (switched in the "
        "Dashboard; refresh reads it from the internal connection string).",
    },
    "deployedInternalAuthEnabled": {
        "type": "boolean",
        "description": "internalAuthEnabled as the last create or update saw it: while the two "
        "differ, preview warns that clients on the old internal URL fail.",
    },
    "maintenance": {
        "$ref": _ref(MAINTENANCE),
        "description": "The pending maintenance run, absent when none is.",
    },
    "maintenanceMoved": {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "description": "The run this provider moved and the time it asked for (so a lagging "
        "read does not move it twice).",
    },
}

_REQUIRED_OUTPUTS = ["name", "plan", "region", "ownerId", "status", "dashboardUrl"]
_REPLACE_ON_CHANGES = list(catalog.REPLACING_PROPERTIES)  # region, ownerId

_TYPES: dict[str, Any] = {
    IP_ALLOW_ENTRY: {
        "type": "object",
        "description": "One CIDR block allowed to reach the external endpoint.",
        "properties": {
            "cidrBlock": {"type": "string", "description": "Such as 203.0.113.0/24."},
            "description": {"type": "string", "description": "What the block is."},
        },
        "required": ["cidrBlock"],
    },
    LOG_STREAM: {
        "type": "object",
        "description": "Where the instance's logs go instead of the workspace's log stream.",
        "properties": {
            "setting": {"type": "string", "description": "send or drop."},
            "endpoint": {"type": "string", "description": "host:port, syslog over TLS."},
            "token": {"type": "string", "secret": True, "description": "Sent with each line."},
        },
        "required": ["setting"],
    },
}

_TYPES[MAINTENANCE] = {
    "type": "object",
    "description": "A maintenance run Render scheduled for the instance.",
    "properties": {
        "id": {"type": "string", "description": "The run's id (mrn-…)."},
        "type": {"type": "string", "description": "What the run does."},
        "state": {"type": "string", "description": "scheduled, in_progress, …"},
        "scheduledAt": {"type": "string", "description": "When it starts (UTC)."},
        "pendingMaintenanceBy": {
            "type": "string",
            "description": "The latest time it can be moved to (UTC).",
        },
    },
    "required": ["id", "state"],
}

_LOOKUP_OUTPUTS: dict[str, dict[str, Any]] = {
    "id": {"type": "string", "description": "The instance id (red-…)."},
    "name": _INPUTS["name"] | {"description": "The instance's name."},
    "plan": {"type": "string", "description": "Its plan."},
    "region": {"type": "string", "description": "Its region."},
    "status": _OUTPUTS["status"],
    "ownerId": {"type": "string", "description": "Its workspace."},
    "environmentId": {"type": "string", "description": "Its environment, if any."},
    "dashboardUrl": _OUTPUTS["dashboardUrl"],
}


def _key_value() -> dict[str, Any]:
    outputs = {
        **{k: v for k, v in _INPUTS.items()},
        **_OUTPUTS,
    }
    for key in SECRET_OUTPUTS:
        outputs[key] = {**outputs[key], "secret": True}
    for key in _REPLACE_ON_CHANGES:
        outputs[key] = {**outputs[key], "replaceOnChanges": True}
    inputs = {
        key: ({**value, "replaceOnChanges": True} if key in _REPLACE_ON_CHANGES else value)
        for key, value in _INPUTS.items()
    }
    return {
        "description": "A Render Key Value instance (managed Valkey), planned before it is "
        "changed: upgrade-only plans, data-loss changes only with consent, exact diffs.",
        "type": "object",
        "properties": outputs,
        "required": _REQUIRED_OUTPUTS,
        "inputProperties": inputs,
        "requiredInputs": ["plan"],
    }


def package_schema() -> dict[str, Any]:
    config: dict[str, dict[str, Any]] = {
        "apiKey": {
            "type": "string",
            "secret": True,
            "description": "Render API key (default: $RENDER_API_KEY).",
            "defaultInfo": {"environment": [CONFIG_ENV["apiKey"]]},
        },
        "apiUrl": {
            "type": "string",
            "description": "Render API base URL (default: $RENDER_API_URL, else Render's).",
            "defaultInfo": {"environment": [CONFIG_ENV["apiUrl"]]},
        },
        "ownerId": {
            "type": "string",
            "description": "Default workspace (default: $RENDER_OWNER_ID).",
            "defaultInfo": {"environment": [CONFIG_ENV["ownerId"]]},
        },
    }
    return {
        "name": PACKAGE,
        "displayName": "Render Key Value",
        "version": VERSION,
        "description": "Render Key Value instances (managed Valkey) with planned, exact changes.",
        "keywords": ["pulumi", "render", "valkey", "redis", "category/database"],
        "license": "Apache-2.0",
        "repository": "https://github.com/example/pulumi-render-kv",
        "publisher": "pulumi-render-kv",
        "config": {"variables": config},
        "provider": {
            "description": "The render-kv provider: a Render API key and workspace.",
            "type": "object",
            "properties": {k: {**v} for k, v in config.items()},
            "inputProperties": {k: {**v} for k, v in config.items()},
        },
        "types": _TYPES,
        "resources": {KEY_VALUE: _key_value()},
        "functions": {
            GET_KEY_VALUE: {
                "description": "Find one instance by id, or by name (and workspace, region). "
                "No secrets: manage it, or import it, for its connection strings.",
                "inputs": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "description": "The instance id (red-…)."},
                        "name": {"type": "string", "description": "The instance's name."},
                        "ownerId": {"type": "string", "description": "Its workspace."},
                        "region": {"type": "string", "description": "Its region."},
                    },
                },
                "outputs": {
                    "type": "object",
                    "properties": _LOOKUP_OUTPUTS,
                    "required": ["id", "name", "plan", "region", "status", "ownerId"],
                },
            }
        },
        "language": {
            "nodejs": {"packageName": "@render-kv/pulumi", "respectSchemaVersion": True},
            "python": {"packageName": "pulumi_render_kv_sdk", "respectSchemaVersion": True},
        },
    }


def schema_json() -> str:
    return json.dumps(package_schema(), indent=2, sort_keys=True)
