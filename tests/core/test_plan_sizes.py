"""Plan sizes and the next plan up, as the doctor's upgrade advice reads them."""

from pulumi_render_kv.catalog import PLAN_RANK, PLAN_SIZES, next_plan


def test_every_named_plan_has_a_size_growing_with_its_rank() -> None:
    plans = sorted(PLAN_RANK, key=PLAN_RANK.__getitem__)
    assert list(PLAN_SIZES) == plans
    memory = [PLAN_SIZES[p].memory_mb for p in plans]
    connections = [PLAN_SIZES[p].connections for p in plans]
    assert memory == sorted(memory)
    assert connections == sorted(connections)
    assert PLAN_SIZES["starter"].memory_mb == 256


def test_next_plan() -> None:
    assert next_plan("free") == "starter"
    assert next_plan("starter") == "standard"
    assert next_plan("pro") == "pro_plus"
    assert next_plan("pro_plus") is None
    assert next_plan("custom-xl") is None
