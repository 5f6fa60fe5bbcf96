"""_models: tolerant reading of Render's JSON, strict sending of request bodies."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from pulumi_render_kv.client import (
    CidrBlockAndDescription,
    KeyValueConnectionInfo,
    KeyValueDetail,
    KeyValuePATCHInput,
    KeyValuePOSTInput,
    KeyValueSummary,
)
from pulumi_render_kv.client._models import request_json

from ._fakes import OWNER_ID, PASSWORD, connection_info_json, kv_json


def test_detail_reads_observed_create_response() -> None:
    """The create response recorded from Render (null allow list, nanoseconds) parses."""
    kv = KeyValueDetail.model_validate_json(json.dumps(kv_json(status="unknown")))
    assert kv.id == "red-d8k3stdodlmc73btr2q0"
    assert kv.ip_allow_list == []
    assert kv.status == "unknown"
    assert kv.created_at == datetime(2026, 6, 9, 16, 25, 25, 489442, tzinfo=UTC)
    assert kv.options.maxmemory_policy == "allkeys_lru"
    assert kv.options.persistence_mode == "journal_snapshot"
    assert kv.owner.id == OWNER_ID
    assert kv.environment_id is None
    assert kv.maintenance is None


def test_unknown_status_and_plan_are_kept_as_strings() -> None:
    """Values outside the spec's enums are kept, not rejected, and flagged as unknown."""
    kv = KeyValueDetail.model_validate(kv_json(status="resizing_disk", plan="Custom-64GB"))
    assert kv.status == "resizing_disk"
    assert kv.plan == "Custom-64GB"
    assert not kv.status_is_known
    assert KeyValueDetail.model_validate(kv_json(status="available")).status_is_known


def test_unknown_fields_are_ignored() -> None:
    """New fields anywhere (top level, options, owner, allow list) don't break reading."""
    body = kv_json(
        ip_allow_list=[{"cidrBlock": "10.0.0.0/8", "description": "vpn", "addedBy": "x"}]
    )
    body["shinyNewField"] = {"a": 1}
    body["options"]["eviction"] = "soon"
    body["owner"]["billing"] = "x"
    kv = KeyValueDetail.model_validate(body)
    assert kv.ip_allow_list == [CidrBlockAndDescription(cidr_block="10.0.0.0/8", description="vpn")]


def test_maintenance_and_environment_are_read() -> None:
    """Optional maintenance and environmentId are parsed when present."""
    body = kv_json(environment_id="evm-123")
    body["maintenance"] = {
        "id": "mrn-abcdefghij0123456789",
        "type": "upgrade",
        "scheduledAt": "2026-07-01T00:00:00Z",
        "state": "scheduled",
    }
    kv = KeyValueDetail.model_validate(body)
    assert kv.environment_id == "evm-123"
    assert kv.maintenance is not None
    assert kv.maintenance.state == "scheduled"


def test_list_item_has_dashboard_url() -> None:
    """A list item carries dashboardUrl."""
    kv = KeyValueSummary.model_validate(kv_json(list_item=True))
    assert kv.dashboard_url == "https://dashboard.render.com/r/red-d8k3stdodlmc73btr2q0"


def test_missing_required_field_is_rejected() -> None:
    """A body missing a field we rely on (id) fails validation."""
    body = kv_json()
    del body["id"]
    with pytest.raises(ValidationError, match="id"):
        KeyValueDetail.model_validate(body)


def test_connection_info_hides_values_and_has_accessors() -> None:
    """repr/str/model_dump_json never show the strings; the accessors return them."""
    info = KeyValueConnectionInfo.model_validate(connection_info_json())
    for text in (repr(info), str(info), info.model_dump_json()):
        assert PASSWORD not in text
    assert info.get_external_connection_string().startswith("rediss://red-")
    assert PASSWORD in info.get_external_connection_string()
    assert info.get_cli_command().startswith(f" REDISCLI_AUTH={PASSWORD} ")
    assert info.get_internal_connection_string() == "redis://red-d8k3stdodlmc73btr2q0:6379"


def test_connection_info_accepts_legacy_redis_cli_command() -> None:
    """The /redis twin's ``redisCLICommand`` reads as cli_command."""
    body = connection_info_json()
    body["redisCLICommand"] = body.pop("cliCommand")
    info = KeyValueConnectionInfo.model_validate(body)
    assert info.get_cli_command() == body["redisCLICommand"]


def test_post_input_serialises_camel_case_without_unset_fields() -> None:
    """POST bodies use camelCase and contain only the fields that were set."""
    body = KeyValuePOSTInput(name="cache", owner_id=OWNER_ID, plan="starter")
    assert json.loads(request_json(body)) == {
        "name": "cache",
        "ownerId": OWNER_ID,
        "plan": "starter",
    }


def test_post_input_with_every_field() -> None:
    """Every create field maps to its spec name, allow-list entries included."""
    body = KeyValuePOSTInput(
        name="cache",
        ownerId=OWNER_ID,
        plan="pro",
        region="frankfurt",
        environment_id="evm-1",
        maxmemory_policy="noeviction",
        persistence_mode="snapshot",
        ip_allow_list=[CidrBlockAndDescription(cidr_block="0.0.0.0/0", description="all")],
    )
    assert json.loads(request_json(body)) == {
        "name": "cache",
        "ownerId": OWNER_ID,
        "plan": "pro",
        "region": "frankfurt",
        "environmentId": "evm-1",
        "maxmemoryPolicy": "noeviction",
        "persistenceMode": "snapshot",
        "ipAllowList": [{"cidrBlock": "0.0.0.0/0", "description": "all"}],
    }


def test_patch_input_keeps_empty_allow_list() -> None:
    """An explicit empty allow list is sent (it clears the list); unset fields are not."""
    assert json.loads(request_json(KeyValuePATCHInput(ip_allow_list=[]))) == {"ipAllowList": []}
    assert json.loads(request_json(KeyValuePATCHInput())) == {}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"region": "oregon"}, "Extra inputs are not permitted"),
        ({"maxmemory_policy": "allkeys-lru"}, "Input should be 'noeviction'"),
        ({"persistence_mode": "aof"}, "Input should be 'journal_snapshot', 'snapshot' or 'off'"),
        ({"name": ""}, "at least 1 character"),
    ],
)
def test_patch_input_is_strict(kwargs: dict[str, str], message: str) -> None:
    """Request models reject unknown fields (region is not patchable), bad enums and empty names."""
    with pytest.raises(ValidationError, match=message):
        KeyValuePATCHInput(**kwargs)  # type: ignore[arg-type]


def test_post_input_requires_name_owner_and_plan() -> None:
    """name, ownerId and plan are required to create."""
    with pytest.raises(ValidationError) as info:
        KeyValuePOSTInput()  # type: ignore[call-arg]
    assert {e["loc"][0] for e in info.value.errors()} == {"name", "ownerId", "plan"}


def test_allow_list_entry_requires_description() -> None:
    """Render requires a description on every allow-list entry."""
    with pytest.raises(ValidationError, match="description"):
        CidrBlockAndDescription(cidr_block="10.0.0.0/8")  # type: ignore[call-arg]
