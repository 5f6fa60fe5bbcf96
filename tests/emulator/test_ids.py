"""Ids, passwords, timestamps and cursors in Render's formats."""

from __future__ import annotations

import base64
import re

import pytest

from pulumi_render_kv.emulator import ids


def test_instance_ids_are_red_plus_twenty_lowercase_alphanumerics() -> None:
    """Key Value ids look like red-d8k3stdodlmc73btr2q0."""
    generated = {ids.new_instance_id() for _ in range(200)}
    assert len(generated) == 200
    assert all(re.fullmatch(r"red-[a-z0-9]{20}", value) for value in generated)


def test_owner_and_environment_ids_have_their_prefixes() -> None:
    """Workspaces are tea-…, environments evm-…, projects prj-…."""
    assert re.fullmatch(r"tea-[a-z0-9]{20}", ids.new_owner_id())
    assert re.fullmatch(r"evm-[a-z0-9]{20}", ids.new_environment_id())
    assert re.fullmatch(r"prj-[a-z0-9]{20}", ids.new_project_id())


def test_passwords_are_32_alphanumerics() -> None:
    """Connection-string passwords are 32 chars [A-Za-z0-9]."""
    passwords = [ids.new_password() for _ in range(50)]
    assert all(re.fullmatch(r"[A-Za-z0-9]{32}", value) for value in passwords)
    assert len(set(passwords)) == 50


@pytest.mark.parametrize(
    ("epoch_ns", "nanoseconds", "expected"),
    [
        (1_781_022_325_489_442_320, True, "2026-06-09T16:25:25.48944232Z"),
        (1_781_022_325_489_442_320, False, "2026-06-09T16:25:25.489442Z"),
        (1_781_022_325_489_442_520, False, "2026-06-09T16:25:25.489443Z"),
        (1_781_022_325_999_999_700, False, "2026-06-09T16:25:26Z"),
        (1_781_022_325_489_442_999, True, "2026-06-09T16:25:25.489442999Z"),
        (1_781_022_325_000_000_000, True, "2026-06-09T16:25:25Z"),
        (1_781_022_325_100_000_000, False, "2026-06-09T16:25:25.1Z"),
    ],
)
def test_timestamps_print_like_go_rfc3339nano(
    epoch_ns: int, nanoseconds: bool, expected: str
) -> None:
    """Create responses carry nanoseconds, reads rounded microseconds, trailing zeros dropped."""
    assert ids.format_timestamp(epoch_ns, nanoseconds=nanoseconds) == expected


@pytest.mark.parametrize(
    ("text", "expected_ns"),
    [
        ("2026-06-09T16:25:25.48944232Z", 1_781_022_325_489_442_320),
        ("2026-06-09T16:25:25Z", 1_781_022_325_000_000_000),
        ("2026-06-09T18:25:25.5+02:00", 1_781_022_325_500_000_000),
    ],
)
def test_timestamps_parse_any_fraction_and_offset(text: str, expected_ns: int) -> None:
    """Query timestamps accept RFC 3339 with any fraction length and any offset."""
    assert ids.parse_timestamp(text) == expected_ns


@pytest.mark.parametrize("text", ["yesterday", "2026-06-09T16:25:25", "2026-06-09T16:25:25.Z"])
def test_bad_timestamps_are_rejected(text: str) -> None:
    """Unparsable or zone-less timestamps raise ValueError."""
    with pytest.raises(ValueError):
        ids.parse_timestamp(text)


def test_cursors_round_trip_and_end_with_the_id_tail() -> None:
    """A cursor is base64 of 8 position bytes + the id's tail, like Render's."""
    cursor = ids.encode_cursor(42, "red-d4gesjbe5dus73bitii0")
    assert ids.decode_cursor(cursor) == 42
    raw = base64.b64decode(cursor)
    assert raw[8:] == b"sjbe5dus73bitii0"  # as in Render's cursor 858HVaqwgoJzamJlNWR1czczYml0aWkw
    assert len(cursor) == len("858HVaqwgoJzamJlNWR1czczYml0aWkw")


@pytest.mark.parametrize("cursor", ["not base64!", "QUJD", ""])
def test_foreign_cursors_are_rejected(cursor: str) -> None:
    """A string that is not one of our cursors raises ValueError."""
    with pytest.raises(ValueError):
        ids.decode_cursor(cursor)
