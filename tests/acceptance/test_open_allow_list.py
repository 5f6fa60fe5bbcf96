"""The provider's warning that ``ipAllowList`` admits the whole internet (issue 13).

It judges what the entries cover together (``0.0.0.0/1`` + ``128.0.0.0/1`` is as open as
``0.0.0.0/0``), names the entries that open it, and comes on a create and on an update that
opens a list that was not open, in the preview as in the ``up``.
"""

from __future__ import annotations

import pytest

from pulumi_render_kv.testing import Engine, OperationResult

from .conftest import key_value_program

pytestmark = [pytest.mark.grpc, pytest.mark.dataplane]

CACHE = {"plan": "starter", "workload": "cache"}
OFFICE = ["203.0.113.0/24"]
HALVES = ["0.0.0.0/1", "128.0.0.0/1"]
OPEN_WARNING = "ipAllowList admits the whole internet"


def open_warnings(result: OperationResult) -> list[str]:
    return [line for line in result.stderr if OPEN_WARNING in line]


def test_a_split_list_warns_at_create_naming_its_entries(engine: Engine) -> None:
    program = key_value_program(**CACHE, ip_allow_list=[*OFFICE, *HALVES])
    (warning,) = open_warnings(engine.preview(program))
    assert "warning: KeyValue 'cache': " in warning
    assert (
        "admits the whole internet: 0.0.0.0/1 and 128.0.0.0/1, which together cover 0.0.0.0/0"
        in warning
    )
    assert "203.0.113.0/24" not in warning  # it opens nothing
    assert open_warnings(engine.up(program)) == [warning]


def test_the_whole_internet_in_one_entry_still_warns(engine: Engine) -> None:
    (warning,) = open_warnings(engine.preview(key_value_program(**CACHE, ip_allow_list=["::/0"])))
    assert warning.endswith("ipAllowList admits the whole internet (::/0)")


def test_an_update_that_opens_the_list_warns_and_one_that_keeps_it_open_does_not(
    engine: Engine,
) -> None:
    engine.up(key_value_program(**CACHE, ip_allow_list=OFFICE))
    eights = [f"{i}.0.0.0/8" for i in range(256)]
    opened = key_value_program(**CACHE, ip_allow_list=eights)
    preview = engine.preview(opened)
    assert preview.ops == {"cache": "update"}
    (warning,) = open_warnings(preview)
    assert "0.0.0.0/8, 1.0.0.0/8, 2.0.0.0/8, 3.0.0.0/8, 4.0.0.0/8 and 251 more" in warning
    assert ", which together cover 0.0.0.0/0" in warning
    assert open_warnings(engine.up(opened)) == [warning]
    # Already open: a further change to the list (or none) does not repeat it every preview.
    assert open_warnings(engine.preview(opened)) == []
    assert open_warnings(engine.up(key_value_program(**CACHE, ip_allow_list=HALVES))) == []
    # Almost open is not open.
    assert open_warnings(engine.up(key_value_program(**CACHE, ip_allow_list=eights[1:]))) == []
    # Each family is judged on its own: this opens IPv6, and IPv4 stays as it was.
    ipv6_too = key_value_program(**CACHE, ip_allow_list=["::/1", "8000::/1", *eights[1:]])
    (warning,) = open_warnings(engine.preview(ipv6_too))
    assert "::/1 and 8000::/1, which together cover ::/0" in warning
