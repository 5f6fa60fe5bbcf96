"""Our errors as one line; everything else keeps Python's traceback (the SDK's own output)."""

from __future__ import annotations

import traceback

from pulumi_render_kv.client import ServerError
from pulumi_render_kv.errors import NameTaken, RenderCallFailed
from pulumi_render_kv.provider import _shown_errors


def shown(error: BaseException) -> str:
    format_exc = _shown_errors.one_line_for_ours(traceback.format_exc)
    try:
        try:
            raise ValueError("inner cause")
        except ValueError as cause:
            raise error from cause
    except BaseException:
        return format_exc()


def test_our_errors_are_one_line_with_their_class() -> None:
    text = shown(NameTaken("Could not create Key Value 'cache': taken", existing_ids=("red-a",)))
    assert text == "pulumi_render_kv.errors.NameTaken: Could not create Key Value 'cache': taken"
    cause = ServerError(status_code=503, message="down", method="GET", path="/key-value")
    assert shown(RenderCallFailed("read Key Value red-a", cause)).count("\n") == 0


def test_other_errors_keep_the_whole_traceback() -> None:
    text = shown(KeyError("__provider"))
    assert text.startswith("Traceback (most recent call last):")
    assert "inner cause" in text  # the chain too, as Python prints it
    assert text.rstrip().endswith("KeyError: '__provider'")


def test_nothing_is_installed_outside_the_sdk_server() -> None:
    before = traceback.format_exc
    assert _shown_errors.install() is False
    assert traceback.format_exc is before
