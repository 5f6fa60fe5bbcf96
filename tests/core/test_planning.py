"""Planning: (prior state, desired inputs) → changes, refusals and warnings."""

from __future__ import annotations

from typing import Any

import pytest

from pulumi_render_kv.catalog import ChangeKind
from pulumi_render_kv.planning import plan_changes
from pulumi_render_kv.spec import AS_IS, UNKNOWN, normalize_inputs


def canonical(**overrides: Any) -> dict[str, Any]:
    raw = {"name": "cache", "plan": "starter", "workload": "cache", "ownerId": "tea-a"}
    out, problems = normalize_inputs({**raw, **overrides})
    assert problems == []
    return out


PRIOR = canonical()


def test_identical_inputs_plan_nothing() -> None:
    """No change, no refusal, no warning: a no-op up stays a no-op."""
    planned = plan_changes(PRIOR, canonical())
    assert (planned.changes, planned.rejections, planned.warnings) == ([], [], [])


def test_outputs_only_keys_in_prior_are_ignored() -> None:
    """Computed outputs in prior state (status, connection strings) never cause a diff."""
    prior = {**PRIOR, "status": "available", "internalConnectionString": "redis://x:6379"}
    assert plan_changes(prior, canonical()).changes == []


@pytest.mark.parametrize(
    ("override", "prop", "kind"),
    [
        ({"name": "renamed"}, "name", ChangeKind.IN_PLACE),
        ({"ipAllowList": ["1.2.3.4"]}, "ipAllowList", ChangeKind.IN_PLACE),
        ({"plan": "standard"}, "plan", ChangeKind.RESTART),
        ({"maxmemoryPolicy": "allkeys_lfu"}, "maxmemoryPolicy", ChangeKind.RESTART),
        ({"persistenceMode": "snapshot"}, "persistenceMode", ChangeKind.RESTART),
        ({"environmentId": "evm-x"}, "environmentId", ChangeKind.MOVE),
        ({"region": "ohio", "allowDataLoss": True}, "region", ChangeKind.REPLACE),
        ({"ownerId": "tea-b", "allowDataLoss": True}, "ownerId", ChangeKind.REPLACE),
        ({"suspended": True}, "suspended", ChangeKind.SUSPEND),
        ({"deletionProtection": True}, "deletionProtection", ChangeKind.LOCAL),
        ({"waitTimeout": 60}, "waitTimeout", ChangeKind.LOCAL),
    ],
)
def test_each_property_change_is_classified(
    override: dict[str, Any], prop: str, kind: ChangeKind
) -> None:
    """The change table decides how each property changes."""
    planned = plan_changes(PRIOR, canonical(**override))
    assert [(c.property, c.kind) for c in planned.changes if c.property == prop] == [(prop, kind)]
    assert planned.rejections == []


def test_patch_body_holds_only_changed_patchable_fields() -> None:
    """One PATCH with only what changed; provider-only and replace fields are never sent."""
    planned = plan_changes(PRIOR, canonical(name="n2", plan="pro", deletionProtection=True))
    assert planned.patch == {"name": "n2", "plan": "pro"}


def test_downgrade_is_refused_naming_both_plans_and_the_way_out() -> None:
    """standard → starter cannot happen on Render; say so before anything runs."""
    planned = plan_changes(canonical(plan="standard"), canonical(plan="starter"))
    [problem] = planned.rejections
    assert problem.property == "plan"
    assert "from 'standard' to 'starter'" in problem.reason
    assert "create a new instance on 'starter' and migrate" in problem.reason


def test_upgrade_warns_about_the_restart() -> None:
    """An upgrade is allowed, and the preview says the instance restarts."""
    planned = plan_changes(PRIOR, canonical(plan="pro"))
    assert planned.rejections == []
    assert planned.restarts == ["plan"]
    assert "restarts the instance" in planned.warnings[0]


def test_free_to_paid_needs_allow_data_loss() -> None:
    """Render wipes a free instance when it is upgraded."""
    refused = plan_changes(canonical(plan="free"), canonical(plan="starter"))
    assert "deletes all data" in refused.rejections[0].reason
    assert "allow_data_loss=True" in refused.rejections[0].reason
    allowed = plan_changes(canonical(plan="free"), canonical(plan="starter", allowDataLoss=True))
    assert allowed.rejections == []
    assert any("deletes all data" in w for w in allowed.warnings)


@pytest.mark.parametrize("persistence", ["off", "snapshot", "journal_snapshot"])
def test_leaving_free_sends_the_persistence_asked_for(persistence: str) -> None:
    """Render turns persistence to journal_snapshot when a PATCH takes an instance off free.

    Unless the PATCH says otherwise: an explicit 'off', unchanged from the free plan's 'off',
    must be sent with the plan, or Render's instance and Pulumi's state disagree (refresh
    shows drift, the next up restarts it again).
    """
    prior = canonical(plan="free", persistenceMode="off")
    desired = canonical(plan="starter", persistenceMode=persistence, allowDataLoss=True)
    assert plan_changes(prior, desired).patch == {"plan": "starter", "persistenceMode": persistence}


def test_a_paid_plan_change_leaves_unchanged_persistence_out() -> None:
    """Between paid plans Render keeps the persistence mode: the PATCH carries only the plan."""
    prior = canonical(plan="starter", persistenceMode="off")
    assert plan_changes(prior, canonical(plan="pro", persistenceMode="off")).patch == {
        "plan": "pro"
    }


def test_region_change_replaces_only_with_consent() -> None:
    """A region change is a replacement: refused unless data loss is allowed."""
    refused = plan_changes(PRIOR, canonical(region="frankfurt"))
    assert refused.replaces == ["region"]
    assert "region 'oregon' → 'frankfurt'" in refused.rejections[0].reason
    assert "allow_data_loss=True" in refused.rejections[0].reason
    allowed = plan_changes(PRIOR, canonical(region="frankfurt", allowDataLoss=True))
    assert allowed.rejections == []
    assert not allowed.delete_before_replace


def test_deletion_protection_blocks_replacement() -> None:
    """A protected instance is never replaced, even with allow_data_loss."""
    prior = canonical(deletionProtection=True)
    planned = plan_changes(
        prior, canonical(region="ohio", allowDataLoss=True, deletionProtection=True)
    )
    assert "deletionProtection is on" in planned.rejections[0].reason


def test_free_replacement_deletes_first() -> None:
    """One free instance per workspace: a free → free replacement deletes before creating."""
    planned = plan_changes(
        canonical(plan="free"), canonical(plan="free", region="ohio", allowDataLoss=True)
    )
    assert planned.delete_before_replace


def test_unset_owner_is_not_a_replacement() -> None:
    """An owner left to the default is not compared with the resolved one."""
    desired = {k: v for k, v in canonical().items() if k != "ownerId"}
    assert plan_changes(PRIOR, desired).changes == []


def test_unknown_value_counts_as_a_possible_change() -> None:
    """In preview an unknown name may change; an unknown region may replace."""
    planned = plan_changes(PRIOR, {**canonical(), "name": UNKNOWN, "region": UNKNOWN})
    assert set(planned.changed) == {"name", "region"}
    assert planned.replaces == ["region"]
    # Not refused at preview: the value may turn out equal; check judges it during up.
    assert planned.rejections == []
    assert "may replace the instance" in planned.warnings[0]


def test_old_state_without_defaults_does_not_diff() -> None:
    """State written without provider-only keys compares equal to their defaults."""
    prior = {k: v for k, v in PRIOR.items() if k not in {"waitTimeout", "adoptExisting"}}
    assert plan_changes(prior, canonical()).changes == []


def test_environment_move_is_reported() -> None:
    """Leaving an environment is a move from it to none."""
    planned = plan_changes(canonical(environmentId="evm-a"), canonical())
    assert planned.environment_move == ("evm-a", None)


def test_replacement_may_pick_a_smaller_plan() -> None:
    """A replacement is a new instance: upgrade-only does not apply to it."""
    planned = plan_changes(
        canonical(plan="pro"), canonical(plan="starter", region="ohio", allowDataLoss=True)
    )
    assert planned.rejections == []
    assert planned.replaces == ["region"]


# --- suspend / resume ----------------------------------------------------------------------

SUSPENDED = canonical(suspended=True)


def test_suspending_warns_that_every_connection_is_refused() -> None:
    planned = plan_changes(PRIOR, SUSPENDED)
    assert (planned.suspends, planned.resumes, planned.patch) == (True, False, {})
    assert planned.rejections == []
    [warning] = planned.warnings
    assert "refuses every connection until suspended=False" in warning
    assert "its data is kept" in warning


def test_suspending_without_persistence_says_the_data_does_not_survive() -> None:
    prior = canonical(persistenceMode="off")
    [warning] = plan_changes(prior, canonical(persistenceMode="off", suspended=True)).warnings
    assert "does not survive (persistenceMode is 'off'" in warning


def test_resume_goes_with_a_patch() -> None:
    """Resuming and changing in one update is fine: the provider resumes first."""
    planned = plan_changes(SUSPENDED, canonical(name="renamed"))
    assert (planned.resumes, planned.patch, planned.rejections) == (True, {"name": "renamed"}, [])


def test_a_patch_while_staying_suspended_is_refused_with_the_way_out() -> None:
    planned = plan_changes(SUSPENDED, canonical(suspended=True, plan="standard", name="x"))
    # On each property that changes, not on `suspended`, which does not.
    assert [p.property for p in planned.rejections] == ["name", "plan"]
    for problem in planned.rejections:
        assert f"such as this {problem.property} change" in problem.reason
        assert "Set suspended=False in this update to resume it first" in problem.reason


def test_provider_settings_and_moves_may_change_while_suspended() -> None:
    """Only PATCHed fields are refused: protection or an environment move is not a PATCH."""
    desired = canonical(suspended=True, deletionProtection=True, environmentId="evm-x")
    planned = plan_changes(SUSPENDED, desired)
    assert planned.rejections == []
    assert planned.changed == ["environmentId", "deletionProtection"]


def test_state_from_before_suspension_existed_is_not_suspended() -> None:
    prior = {k: v for k, v in PRIOR.items() if k != "suspended"}
    assert plan_changes(prior, canonical()).changes == []


# --- log-stream override -------------------------------------------------------------------

SEND = {"setting": "send", "endpoint": "logs.example.com:6514", "token": "tok"}


def test_a_log_stream_change_is_its_own_call_not_a_patch() -> None:
    planned = plan_changes(PRIOR, canonical(logStream=SEND))
    assert planned.log_stream is not None
    assert (planned.log_stream.old, planned.log_stream.new) == (None, SEND)
    assert (planned.patch, planned.restarts, planned.warnings) == ({}, [], [])


def test_removing_the_log_stream_plans_the_workspace_default() -> None:
    planned = plan_changes(canonical(logStream=SEND), PRIOR)
    assert planned.log_stream is not None
    assert planned.log_stream.new is None


def test_a_new_token_alone_is_a_change() -> None:
    planned = plan_changes(canonical(logStream=SEND), canonical(logStream={**SEND, "token": "t2"}))
    assert planned.changed == ["logStream"]


def test_a_log_stream_may_change_while_suspended() -> None:
    """Render's PATCH refusal does not cover the log-stream endpoint."""
    planned = plan_changes(SUSPENDED, canonical(suspended=True, logStream=SEND))
    assert (planned.changed, planned.rejections) == (["logStream"], [])


@pytest.mark.parametrize(
    ("prop", "live"),
    [
        ("suspended", True),
        ("suspended", False),
        ("logStream", {"setting": "drop"}),
        ("logStream", None),
    ],
)
def test_as_is_is_never_a_change(prop: str, live: Any) -> None:
    """AS_IS leaves whatever Render has: no change planned, whatever the prior value."""
    prior = {**PRIOR, prop: live}
    desired = canonical(**{prop: AS_IS})
    assert desired[prop] == AS_IS
    assert plan_changes(prior, desired).changes == []


def test_from_as_is_the_prior_status_says_what_a_suspension_is() -> None:
    """Managing a suspension that was AS_IS: the status in the prior outputs decides."""
    suspended = {**PRIOR, "suspended": AS_IS, "status": "suspended"}
    running = {**PRIOR, "suspended": AS_IS, "status": "available"}
    assert plan_changes(suspended, canonical(suspended=False)).resumes
    assert plan_changes(running, canonical(suspended=False)).changes == []
    assert plan_changes(running, canonical(suspended=True)).suspends


def test_as_is_is_refused_for_other_inputs_and_typos_name_it() -> None:
    _, problems = normalize_inputs({**canonical(), "suspended": "maybe"})
    assert [(p.property, p.reason) for p in problems] == [
        ("suspended", "'maybe' must be true, false or render_kv.AS_IS (leave it as it is)")
    ]


OFFICE = {"cidrBlock": "203.0.113.0/24", "description": "office"}
HOME = {"cidrBlock": "198.51.100.7/32", "description": "home"}


@pytest.mark.parametrize(
    "reworded",
    [
        [HOME, OFFICE],  # reordered
        [OFFICE, HOME, OFFICE],  # a duplicate
        ["198.51.100.7/32", OFFICE],  # as good as the same: no description is ""
    ],
)
def test_allow_lists_compare_as_sets(reworded: list[Any]) -> None:
    """Order and duplicates never make a change: Render's list has no meaningful order."""
    prior = canonical(ipAllowList=[OFFICE, HOME])
    if isinstance(reworded[0], str):
        prior = canonical(ipAllowList=[{**HOME, "description": ""}, OFFICE])
    assert plan_changes(prior, canonical(ipAllowList=reworded)).changes == []


def test_a_changed_description_is_a_change() -> None:
    prior = canonical(ipAllowList=[OFFICE, HOME])
    planned = plan_changes(prior, canonical(ipAllowList=[OFFICE, {**HOME, "description": "vpn"}]))
    assert planned.changed == ["ipAllowList"]
    # The PATCH sends the list in the user's order (Render's order carries no meaning).
    assert planned.patch == {"ipAllowList": [OFFICE, {**HOME, "description": "vpn"}]}


def test_an_added_entry_is_a_change_sent_in_the_users_order() -> None:
    planned = plan_changes(canonical(ipAllowList=[OFFICE]), canonical(ipAllowList=[OFFICE, HOME]))
    assert planned.changed == ["ipAllowList"]
    assert planned.patch == {"ipAllowList": [OFFICE, HOME]}
