"""_errors: the status → class factory, messages, request ids, pickling, Retry-After parsing."""

from __future__ import annotations

import pickle

import pytest

from pulumi_render_kv.client import (
    ClientRateLimitedError,
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    RateLimitedError,
    RenderAPIError,
    RenderError,
    RenderTimeoutError,
    RenderTransportError,
    ServerError,
    UnauthorizedError,
)
from pulumi_render_kv.client._errors import RetryRecord, api_error_from_response, parse_seconds

from ._fakes import API_KEY, PASSWORD, REQUEST_ID

PATH = "/key-value/red-d8k3stdodlmc73btr2q0"
TEMPLATE = "/key-value/{keyValueId}"


def make(status: int, body: bytes = b'{"message":"boom"}', **headers: str) -> RenderAPIError:
    return api_error_from_response(
        status_code=status,
        headers={
            "render-request-id": REQUEST_ID,
            **{k.replace("_", "-"): v for k, v in headers.items()},
        },
        body=body,
        method="PATCH",
        path=PATH,
        path_template=TEMPLATE,
        secrets=[API_KEY],
    )


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, InvalidRequestError),
        (401, UnauthorizedError),
        (402, RenderAPIError),
        (403, ForbiddenError),
        (404, NotFoundError),
        (406, RenderAPIError),
        (409, ConflictError),
        (410, RenderAPIError),
        (429, RateLimitedError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
    ],
)
def test_status_maps_to_class(status: int, cls: type[RenderAPIError]) -> None:
    """Each status gets its class (others the base class) with status and operation attached."""
    error = make(status)
    assert type(error) is cls
    assert isinstance(error, RenderError)
    assert error.status_code == status
    assert error.operation == "PATCH /key-value/{keyValueId}"
    assert error.path == PATH
    assert error.request_id == REQUEST_ID
    assert error.message == "boom"


def test_message_is_one_clear_sentence() -> None:
    """str(error) names the operation, status, Render's message and the request id."""
    error = make(400, b'{"id":"invalid","message":"plan downgrade is not supported"}')
    assert str(error) == (
        f"Render API rejected PATCH {PATH}: 400 Bad Request: plan downgrade is not supported "
        f"(request id {REQUEST_ID})."
    )
    assert error.error_id == "invalid"


def test_unauthorized_message_says_how_to_fix() -> None:
    """A 401 tells the user where the API key comes from."""
    error = make(401, b'{"message":"unauthorized"}')
    assert str(error).startswith(
        f"Render API rejected PATCH {PATH}: 401 Unauthorized: unauthorized"
    )
    assert "RENDER_API_KEY" in str(error)
    assert "render:apiKey" in str(error)


def test_server_error_wording() -> None:
    """5xx errors say Render failed, and that retrying later is the remedy."""
    error = make(503, b"")
    assert str(error) == (
        f"Render API failed on PATCH {PATH}: 503 Service Unavailable (request id {REQUEST_ID}). "
        "This is a problem on Render's side; retry later."
    )


def test_error_body_without_id_and_with_code() -> None:
    """Bodies without ``id`` are fine; the newer ``code`` field is kept."""
    error = make(400, b'{"message":"too many","code":"too_many_resources"}')
    assert error.error_id is None
    assert error.error_code == "too_many_resources"
    assert error.message == "too many"


def test_non_json_error_body_is_summarised() -> None:
    """An HTML or plain-text body becomes a short, one-line, redacted message."""
    error = make(502, f"<html>\n<h1>Bad gateway</h1> rediss://u:{PASSWORD}@h\n</html>".encode())
    assert error.message == "<html> <h1>Bad gateway</h1> rediss://u:***@h </html>"
    assert PASSWORD not in str(error)


def test_json_error_body_that_is_not_an_object() -> None:
    """A JSON array or string body is summarised rather than crashing the factory."""
    assert make(400, b'["a", "b"]').message == '["a", "b"]'


def test_error_message_scrubs_api_key_and_passwords() -> None:
    """If Render echoes a secret in its message, it is scrubbed before it reaches the error."""
    body = f'{{"message":"bad key {API_KEY} for rediss://u:{PASSWORD}@h"}}'.encode()
    error = make(400, body)
    assert API_KEY not in str(error)
    assert PASSWORD not in str(error)
    assert error.message == "bad key *** for rediss://u:***@h"


def test_rate_limited_reads_retry_after_then_ratelimit_reset() -> None:
    """429 takes Retry-After; without it, Ratelimit-Reset (seconds until the window resets)."""
    assert make(429, retry_after="7").retry_after == 7.0
    assert make(429, ratelimit_reset="34").retry_after == 34.0
    assert make(429, retry_after="3", ratelimit_reset="34").retry_after == 3.0
    assert make(429).retry_after is None
    assert str(make(429, retry_after="7")).endswith(
        "Render's rate limit was reached; it asked for a 7 s wait."
    )


def test_retry_after_is_read_on_5xx_but_reset_only_on_429() -> None:
    """A 503 may carry Retry-After; Ratelimit-Reset on a success-class limit is not a wait."""
    assert make(503, retry_after="2").retry_after == 2.0
    assert make(503, ratelimit_reset="40").retry_after is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", 5.0),
        ("0.25", 0.25),
        ("-3", 0.0),
        ("", None),
        (None, None),
        ("soon", None),
        ("nan", None),
        ("inf", None),
        ("1700000060", 60.0),  # epoch seconds, as the docs (wrongly) describe Ratelimit-Reset
        ("Tue, 14 Nov 2023 22:14:20 GMT", 60.0),
    ],
)
def test_parse_seconds(value: str | None, expected: float | None) -> None:
    """Delta seconds, epoch seconds and HTTP dates become a non-negative wait; junk is None."""
    assert parse_seconds(value, now_epoch=1_700_000_000.0) == expected


def retried(error: RenderError) -> RenderError:
    error.stopped_retrying(RetryRecord(attempts=61, seconds=300, deadline=300, stop="deadline"))
    return error


def test_a_retried_error_says_how_long_instead_of_when_to_retry() -> None:
    """Once the retries stopped, the 429's message tells the user what happened and what to
    run, not "retry in 5 s" (the client did that for as long as the call allowed)."""
    error = retried(make(429, retry_after="5"))
    assert str(error) == (
        f"Render kept answering 429 (rate limited) to PATCH {PATH} (boom; request id "
        f"{REQUEST_ID}) for 300 s (61 attempts, up to this call's 300 s deadline); its rate "
        "limits are per API key and shared with every other tool using the key: wait a few "
        "minutes, then run the same `pulumi` command again."
    )
    assert error.retries is not None
    assert error.retries.attempts == 61


@pytest.mark.parametrize(
    "error",
    [
        make(404),
        make(429, retry_after="9"),
        retried(make(429, retry_after="5")),
        retried(make(503)),
        retried(RenderTransportError(method="GET", path="/x", cause="reset", maybe_sent=True)),
        RenderTransportError(
            method="GET", path="/owners", cause="ReadError: reset", maybe_sent=True
        ),
        RenderTimeoutError(method="GET", path="/owners", cause="ReadTimeout", maybe_sent=True),
        ClientRateLimitedError(
            method="POST",
            path="/key-value",
            bucket="create",
            limit="20/h",
            retry_after=1200,
            deadline=300,
        ),
    ],
)
def test_errors_pickle_round_trip(error: RenderError) -> None:
    """Errors survive pickling with their class, message and attributes (and carry no key)."""
    data = pickle.dumps(error)
    assert API_KEY.encode() not in data
    clone = pickle.loads(data)
    assert type(clone) is type(error)
    assert str(clone) == str(error)
    assert clone.__dict__ == error.__dict__


def test_transport_error_messages() -> None:
    """Transport and timeout errors say what could not be reached and why."""
    error = RenderTransportError(
        method="GET", path="/owners", cause="ConnectError: refused", maybe_sent=False
    )
    assert str(error) == "Could not reach the Render API for GET /owners: ConnectError: refused."
    timeout = RenderTimeoutError(
        method="POST", path="/key-value", cause="ReadTimeout", maybe_sent=True
    )
    assert isinstance(timeout, RenderTransportError)
    assert str(timeout) == "The Render API did not answer POST /key-value in time: ReadTimeout."


def test_client_rate_limited_error_message() -> None:
    """The client-side limit error says which limit, when a slot frees up, and what to do."""
    error = ClientRateLimitedError(
        method="POST",
        path="/key-value",
        bucket="create",
        limit="20/h",
        retry_after=1234.4,
        deadline=300,
    )
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 1234.4
    assert str(error) == (
        "Render API call POST /key-value was not sent: the client-side create limit of 20/h is "
        "used up and the next slot frees up in 1234 s, after the 300 s retry deadline. Wait and "
        "run again, or set RENDER_API_CLIENT_LIMITS if your Render account has higher limits."
    )
