"""check() and diff() on engine-shaped dicts: no API, every bad input caught at preview."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.output import Unknown
from pulumi.runtime import rpc

from pulumi_render_kv.client import KeyValueDetail, ResourceLogStream
from pulumi_render_kv.core._convert import live_inputs
from pulumi_render_kv.errors import DeletionProtected
from pulumi_render_kv.provider import KeyValueProvider

PROVIDER_BLOB = "opaque-provider-blob"


def news(**overrides: Any) -> dict[str, Any]:
    # As the engine sends them: camelCase, numbers as floats, __provider included.
    base = {
        "__provider": PROVIDER_BLOB,
        "name": "cache",
        "plan": "starter",
        "workload": "cache",
        "ownerId": "tea-a",
        "waitTimeout": 900.0,
    }
    return {**base, **overrides}


def checked(**overrides: Any) -> dict[str, Any]:
    result = KeyValueProvider().check({}, news(**overrides))
    assert result.failures == []
    return result.inputs


def outputs_of(inputs: dict[str, Any], **computed: Any) -> dict[str, Any]:
    return {
        **inputs,
        "status": "available",
        "version": "8.1.4",
        "internalConnectionString": "redis://red-x:6379",
        **computed,
    }


def test_check_returns_canonical_inputs_without_provider_key() -> None:
    """The SDK adds __provider back; check returns only the resource's own inputs."""
    inputs = checked(maxmemoryPolicy="allkeys-lru", workload=None)
    assert "__provider" not in inputs
    assert inputs["maxmemoryPolicy"] == "allkeys_lru"
    assert inputs["persistenceMode"] == "journal_snapshot"


def test_check_reports_each_problem_on_its_property() -> None:
    """Failures are attached to the property, with the value and the fix."""
    result = KeyValueProvider().check({}, news(plan="gigantic", region="mars"))
    by_property = {f.property: f.reason for f in result.failures}
    assert "'gigantic' must be one of" in by_property["plan"]
    assert "'mars' must be one of" in by_property["region"]


def test_check_refuses_downgrade_against_old_inputs() -> None:
    """A downgrade fails at preview, naming both plans."""
    old = checked(plan="pro")
    result = KeyValueProvider().check(old, news(plan="starter"))
    [failure] = result.failures
    assert failure.property == "plan"
    assert "from 'pro' to 'starter'" in failure.reason


def test_check_refuses_free_to_paid_without_consent() -> None:
    """free → starter loses data: refused unless allowDataLoss."""
    old = checked(plan="free")
    assert KeyValueProvider().check(old, news(plan="starter")).failures[0].property == "plan"
    assert KeyValueProvider().check(old, news(plan="starter", allowDataLoss=True)).failures == []


def test_check_warns_about_restarts_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    """A plan upgrade warns that the instance restarts."""
    old = checked()
    KeyValueProvider().check(old, news(plan="standard"))
    assert "restarts the instance" in capsys.readouterr().err


def test_check_keeps_unknowns_unknown() -> None:
    """Preview inputs from other resources stay unknown on the wire."""
    inputs = KeyValueProvider().check({}, news(name=Unknown())).inputs
    assert inputs["name"] == rpc.UNKNOWN


def test_check_is_idempotent() -> None:
    """Checking checked inputs changes nothing (the engine re-checks on replace)."""
    once = checked(ipAllowList=[{"cidrBlock": "1.2.3.4", "description": "x"}])
    again = KeyValueProvider().check({}, {**once, "__provider": PROVIDER_BLOB})
    assert again.failures == []
    assert again.inputs == once


def test_diff_of_same_inputs_is_no_change() -> None:
    """A no-op up: changes=False, nothing replaced."""
    inputs = checked()
    result = KeyValueProvider().diff(
        "red-x", outputs_of(inputs), {**inputs, "__provider": PROVIDER_BLOB}
    )
    assert result.changes is False
    assert result.replaces == []


def test_diff_reports_replacement_for_region() -> None:
    """region is listed as replacing; the rest are stable."""
    inputs = checked()
    result = KeyValueProvider().diff(
        "red-x", outputs_of(inputs), checked(region="ohio", allowDataLoss=True)
    )
    assert result.changes is True
    assert result.replaces == ["region"]
    assert "region" not in (result.stables or [])


def test_diff_ignores_float_vs_int() -> None:
    """900 and 900.0 are the same timeout."""
    inputs = checked()
    olds = outputs_of({**inputs, "waitTimeout": 900})
    assert KeyValueProvider().diff("red-x", olds, inputs).changes is False


def test_check_and_diff_make_no_api_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    """check and diff never build a client."""

    def boom(*_: Any, **__: Any) -> None:
        raise AssertionError("API client used during check/diff")

    monkeypatch.setattr(KeyValueProvider, "_client", boom)
    provider = KeyValueProvider()
    inputs = provider.check({}, news()).inputs
    provider.diff("red-x", outputs_of(inputs), inputs)


def _detail(**overrides: Any) -> Any:
    body = {
        "id": "red-aaaaaaaaaaaaaaaaaaaa",
        "name": "cache",
        "plan": "starter",
        "region": "oregon",
        "status": "available",
        "owner": {"id": "tea-a", "name": "W", "email": "w@example.com", "type": "team"},
        "options": {"maxmemoryPolicy": "allkeys_lru", "persistenceMode": "journal_snapshot"},
        "ipAllowList": None,
        "version": "8.1.4",
        "createdAt": "2026-06-09T16:25:25.48944232Z",
        "updatedAt": "2026-06-09T16:25:25.48944232Z",
        **overrides,
    }
    return KeyValueDetail.model_validate(body)


def test_live_inputs_match_checked_inputs() -> None:
    """What Render returns for our inputs reads back as exactly those inputs."""
    inputs = checked(ipAllowList=["10.0.0.0/8", {"cidrBlock": "1.2.3.4", "description": "x"}])
    detail = _detail(
        ipAllowList=[
            {"cidrBlock": "1.2.3.4/32", "description": "x"},
            {"cidrBlock": "10.0.0.0/8", "description": ""},
        ]
    )
    assert live_inputs(detail, inputs, None) == inputs


def test_live_allow_list_we_would_refuse_still_shows_as_drift() -> None:
    """A Dashboard entry with host bits is kept as Render has it, so the preview shows it."""
    inputs = checked()
    odd = [{"cidrBlock": "10.0.0.1/8", "description": "typo"}]
    live = live_inputs(_detail(ipAllowList=odd), inputs, None)
    assert live["ipAllowList"] == odd
    assert KeyValueProvider().diff("red-x", outputs_of(live), inputs).changes is True


SEND = {"setting": "send", "endpoint": "logs.example.com:6514", "token": "tok"}


def _override(setting: str = "send", endpoint: str = "logs.example.com:6514") -> Any:
    return ResourceLogStream(resource_id="red-x", setting=setting, endpoint=endpoint)


def test_a_live_override_keeps_the_recorded_token_while_it_matches() -> None:
    """Render never returns the token: the one in state stands while setting and endpoint hold."""
    inputs = checked(logStream=SEND)
    live = live_inputs(_detail(), inputs, _override(), recorded_log_stream=SEND)
    assert live == inputs
    assert KeyValueProvider().diff("red-x", outputs_of(live), inputs).changes is False


def test_a_live_override_changed_in_the_dashboard_drops_the_token_and_diffs() -> None:
    inputs = checked(logStream=SEND)
    live = live_inputs(_detail(), inputs, _override(endpoint="other:514"), recorded_log_stream=SEND)
    assert live["logStream"] == {"setting": "send", "endpoint": "other:514"}
    assert KeyValueProvider().diff("red-x", outputs_of(live), inputs).changes is True


def test_no_live_override_reads_as_none_and_a_drop_has_no_endpoint() -> None:
    assert "logStream" not in live_inputs(_detail(), checked(logStream=SEND), None)
    dropped = live_inputs(_detail(), checked(), _override("drop", ""))
    assert dropped["logStream"] == {"setting": "drop"}


def test_a_suspended_instance_reads_as_suspended() -> None:
    assert live_inputs(_detail(status="suspended"), checked(), None)["suspended"] is True
    assert live_inputs(_detail(), checked(), None)["suspended"] is False


def test_a_region_typo_on_an_existing_stack_gets_one_reason_and_no_data_loss_advice() -> None:
    """'oregan' is a typo to fix, not a replacement to consent to."""
    old = checked(region="oregon")
    result = KeyValueProvider().check(old, news(region="oregan"))
    [failure] = result.failures
    assert failure.property == "region"
    assert "did you mean 'oregon'" in failure.reason
    assert "allow_data_loss" not in failure.reason


def test_a_plan_typo_warns_of_no_restart(capsys: pytest.CaptureFixture[str]) -> None:
    """'strater' fails on plan; no restart warning for a plan that does not exist."""
    old = checked(plan="standard")
    result = KeyValueProvider().check(old, news(plan="strater"))
    assert [f.property for f in result.failures] == ["plan"]
    assert "restart" not in capsys.readouterr().err


def test_a_workload_typo_warns_of_no_change_to_none(capsys: pytest.CaptureFixture[str]) -> None:
    """'queu' fails on workload; the policy it would have implied is not planned as None."""
    old = checked(workload="cache")
    result = KeyValueProvider().check(old, news(workload="queu"))
    assert [f.property for f in result.failures] == ["workload"]
    err = capsys.readouterr().err
    assert "None" not in err
    assert "restart" not in err


def test_valid_changes_next_to_a_typo_are_still_judged() -> None:
    """A typo elsewhere does not hide a refused downgrade."""
    old = checked(plan="pro")
    result = KeyValueProvider().check(old, news(plan="starter", region="oregan"))
    assert sorted(f.property for f in result.failures) == ["plan", "region"]


def test_allow_data_loss_left_on_warns_in_every_check(capsys: pytest.CaptureFixture[str]) -> None:
    """Consent that nothing needs is a standing licence for a later replacement: say so."""
    old = checked(allowDataLoss=True)
    assert KeyValueProvider().check(old, news(allowDataLoss=True)).failures == []
    err = capsys.readouterr().err
    assert "allow_data_loss=True is set but nothing in this update needs it" in err
    assert "remove it" in err
    # No old inputs is also the engine's second Check of a replacement, which did need it:
    # the warning waits for the next preview instead of misleading there.
    KeyValueProvider().check({}, news(allowDataLoss=True))
    assert "nothing in this update needs it" not in capsys.readouterr().err


def test_allow_data_loss_that_is_used_warns_only_of_the_loss(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """When the change needs the consent, the data-loss warning is the only one."""
    old = checked(plan="free", workload=None, maxmemoryPolicy="allkeys_lru")
    result = KeyValueProvider().check(
        old, news(plan="starter", workload=None, maxmemoryPolicy="allkeys_lru", allowDataLoss=True)
    )
    assert result.failures == []
    err = capsys.readouterr().err
    assert "deletes all data" in err
    assert "nothing in this update needs it" not in err


def test_a_refused_delete_outside_the_engine_says_how_to_find_the_urn() -> None:
    """Called directly (no engine request to read the URN from), the command still works."""
    with pytest.raises(DeletionProtected) as caught:
        KeyValueProvider().delete("red-x", {"name": "cache", "deletionProtection": True})
    message = str(caught.value)
    assert "`pulumi state delete '<URN>'` (`pulumi stack --show-urns` lists the URNs)" in message
    assert "declare it again with deletion_protection=False" in message
