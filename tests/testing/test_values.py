"""Property values on the wire: secrets, unknowns, numbers, nulls, annotateSecrets."""

from __future__ import annotations

import pytest
from pulumi.output import Unknown

from pulumi_render_kv.testing import UNKNOWN, _values, reveal, secret


def test_struct_round_trip_gives_floats_drops_nulls_and_strips_secrets() -> None:
    """to_struct/from_struct mirror protobuf: doubles only, no nulls in objects, no secrets."""
    struct = _values.to_struct({"n": 3, "gone": None, "obj": {"x": None, "s": secret("p")}})
    assert _values.from_struct(struct) == {"n": 3.0, "obj": {"s": "p"}}
    kept = _values.from_struct(_values.to_struct({"s": secret("p")}, keep_secrets=True))
    assert kept == {"s": secret("p")}


def test_normalize_maps_unknown_objects_and_rejects_odd_types() -> None:
    """SDK Unknown() objects become the sentinel; non-JSON values are refused clearly."""
    unknown = Unknown()  # type: ignore[no-untyped-call]  # the SDK class is unannotated
    assert _values.normalize({"a": unknown, "b": (1, 2)}) == {"a": UNKNOWN, "b": [1.0, 2.0]}
    with pytest.raises(TypeError, match="cannot be sent"):
        _values.normalize({"a": object()})


def test_annotate_secrets_follows_input_names_recursively() -> None:
    """An output becomes secret when the same-named input is, also inside objects."""
    ins = {"token": secret("t"), "nested": {"pw": secret("p"), "x": 1}, "plain": "v"}
    outs = {"token": "t", "nested": {"pw": "p", "x": 1}, "plain": "v", "extra": "e"}
    annotated = _values.annotate_secrets(outs, ins)
    assert annotated["token"] == secret("t")
    assert annotated["nested"] == {"pw": secret("p"), "x": 1}
    assert annotated["plain"] == "v"
    assert annotated["extra"] == "e"
    assert _values.secret_keys(annotated) == {"token", "nested"}
    assert reveal(annotated) == outs


def test_annotate_secrets_makes_an_output_secret_when_its_input_contains_one() -> None:
    """As the engine does: a list holding a secret, at any depth, makes the whole output secret."""
    ins = {
        "hosts": ["a", secret("b")],
        "users": [{"name": "x", "pw": secret("p")}],
        "nested": {"tags": ["t", secret("s")], "n": 1},
        "object_in_secret": secret({"k": "v"}),
        "plain": ["a", "b"],
    }
    outs = {
        "hosts": ["b", "a"],  # reordered by the provider: the secret moved
        "users": [{"name": "x", "pw": "p"}],
        "nested": {"tags": ["t", "s"], "n": 1},
        "object_in_secret": {"k": "v"},
        "plain": ["a", "b"],
    }
    annotated = _values.annotate_secrets(outs, ins)
    assert annotated["hosts"] == secret(["b", "a"])
    assert annotated["users"] == secret([{"name": "x", "pw": "p"}])
    assert annotated["nested"] == {"tags": secret(["t", "s"]), "n": 1}
    assert annotated["object_in_secret"] == secret({"k": "v"})
    assert annotated["plain"] == ["a", "b"]
    already = _values.annotate_secrets({"hosts": secret(["a"])}, {"hosts": [secret("a")]})
    assert already == {"hosts": secret(["a"])}  # not wrapped twice


def test_changed_keys_compare_secrets_by_content_and_unknowns_as_changes() -> None:
    """The engine's input diff: add/delete/update per key; a secret wrapper alone is no change."""
    old = {"a": 1.0, "b": secret("x"), "c": "gone", "u": 1.0}
    new = {"a": 2.0, "b": "x", "d": "new", "u": UNKNOWN}
    assert _values.changed_keys(old, new) == [
        ("a", "update"),
        ("c", "delete"),
        ("d", "add"),
        ("u", "update"),
    ]


def test_go_format_matches_the_engines_check_failure_values() -> None:
    """Values print as Go's %v of the engine's property values."""
    assert _values.go_format(-1.0) == "-1"
    assert _values.go_format(0.5) == "0.5"
    assert _values.go_format(None) == "<nil>"
    assert _values.go_format(True) == "true"
    assert _values.go_format(["a", 1.0]) == "[{a} {1}]"
    assert _values.go_format({"k": "v"}) == "map[k:{v}]"


@pytest.mark.parametrize("number", [0.0, -1.0, 3.0, 2.5, 0.1, 1e20, 1e21, -7.25, 268435456.0])
def test_numbers_have_one_formatter_for_messages_and_display(number: float) -> None:
    """Check-failure messages and the diff display print numbers through one function."""
    from pulumi_render_kv.testing.render import format_value  # noqa: PLC0415

    shown = _values.format_number(number)
    assert _values.go_format(number) == shown
    assert format_value(number) == shown
    assert float(shown) == number
