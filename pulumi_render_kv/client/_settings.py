"""Resolved client settings: API key, workspace, base URL, limits, timeouts, retry policy.

:meth:`RenderSettings.resolve` takes explicit values first, then the environment
(``RENDER_API_KEY``, ``RENDER_OWNER_ID``, ``RENDER_API_URL``, ``RENDER_API_CLIENT_LIMITS``,
``RENDER_API_TIMEOUT``),
then defaults. It refuses plain ``http://`` to anything but a loopback host, and a URL that holds
the API key (or any credential); no error quotes the key.

The API key is a ``SecretStr``; ``repr()`` shows no key, and settings refuse to be pickled so a
key can never end up in a Pulumi provider blob (resolve settings at call time instead).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from pydantic import SecretStr

from ._errors import RenderConfigError
from ._limiter import ClientLimits
from ._redact import redact
from ._retry import RetryPolicy

if TYPE_CHECKING:
    import httpx

__all__ = ["DEFAULT_BASE_URL", "RenderSettings", "Timeouts"]

DEFAULT_BASE_URL = "https://api.render.com/v1"

ENV_API_KEY = "RENDER_API_KEY"
ENV_OWNER_ID = "RENDER_OWNER_ID"
ENV_API_URL = "RENDER_API_URL"
ENV_CLIENT_LIMITS = "RENDER_API_CLIENT_LIMITS"
ENV_TIMEOUT = "RENDER_API_TIMEOUT"


@dataclass(frozen=True, slots=True)
class Timeouts:
    """httpx timeouts in seconds."""

    connect: float = 10.0
    read: float = 60.0
    write: float = 60.0
    pool: float = 10.0

    def to_httpx(self) -> httpx.Timeout:
        import httpx  # noqa: PLC0415 -- with the first client, not with the package (issue 16)

        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_base_url(raw: str, *, where: str, api_key: str) -> str:
    """The URL, checked; ``where`` names its source in errors (``RENDER_API_URL``, ...).

    No error here quotes the URL as given: an API key pasted into the URL's place (a common
    slip) would otherwise be printed. A URL holding the key, any ``rnd_`` key or another
    credential is refused outright, since every request would carry it to Render's logs.
    """
    text = raw.strip().rstrip("/")
    shown = redact(text, (api_key,))
    # A key under 4 characters (never a valid one) counts only as the whole URL: as a mere
    # word ("v1", "api") it would refuse good URLs. It is still never shown.
    found = redact(text, (api_key,) if len(api_key) >= 4 else ()) != text or text == api_key
    if found:
        raise RenderConfigError(
            f"{where} must not contain credentials ({shown!r}): set the API key with "
            f"{ENV_API_KEY} or the Pulumi secret config `render:apiKey`, and the URL to the "
            f"address of Render's API ({DEFAULT_BASE_URL}, the default)."
        )
    # httpx parses URLs as its client will, so it is imported here, at the first settings a
    # call needs, rather than with the package (issue 16: cold start).
    import httpx  # noqa: PLC0415

    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as exc:
        cause = redact(str(exc), (api_key, text))
        raise RenderConfigError(f"{where} {shown!r} is not a valid URL: {cause}.") from None
    if url.scheme not in {"https", "http"} or not url.host:
        raise RenderConfigError(
            f"{where} {shown!r} must be an absolute https:// URL such as {DEFAULT_BASE_URL}."
        )
    if url.userinfo:
        raise RenderConfigError(
            f"{where} must not contain credentials; set the API key with "
            f"{ENV_API_KEY} or the Pulumi secret config `render:apiKey`."
        )
    if url.scheme == "http" and not _is_loopback(url.host):
        raise RenderConfigError(
            f"Refusing plain http:// to {url.host}: the API key would travel unencrypted. Use "
            "https://, or http:// only for a loopback emulator (localhost, 127.0.0.0/8, ::1)."
        )
    return text


def _timeouts_from_env(text: str) -> Timeouts:
    """``RENDER_API_TIMEOUT`` (seconds): the read and write timeout, connect and pool at most."""
    if not text:
        return Timeouts()
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds <= 3600:  # `not` also refuses NaN
        raise RenderConfigError(
            f"{ENV_TIMEOUT} must be a number of seconds from 0 to 3600 (e.g. 60), got {text!r}."
        )
    default = Timeouts()
    return Timeouts(
        connect=min(default.connect, seconds),
        read=seconds,
        write=seconds,
        pool=min(default.pool, seconds),
    )


def _refuse_pickle(kind: str) -> NoReturn:
    raise TypeError(
        f"{kind} holds the Render API key and must not be pickled (it would end up in the "
        "Pulumi provider blob and state). Resolve settings inside provider methods instead."
    )


@dataclass(frozen=True, slots=True)
class RenderSettings:
    """Everything a :class:`RenderClient` needs. Build it with :meth:`resolve`."""

    api_key: SecretStr
    owner_id: str | None = None
    base_url: str = DEFAULT_BASE_URL
    limits: ClientLimits = field(default_factory=ClientLimits)
    timeouts: Timeouts = field(default_factory=Timeouts)
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @classmethod
    def resolve(
        cls,
        api_key: str | SecretStr | None = None,
        owner_id: str | None = None,
        base_url: str | None = None,
        limits: ClientLimits | None = None,
        *,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> RenderSettings:
        """Explicit arguments first, then the environment, then defaults.

        ``environ`` defaults to ``os.environ``. Raises :class:`RenderConfigError` with what to
        set when the API key is missing, the URL is unsafe or the limits do not parse.
        """
        env = os.environ if environ is None else environ

        key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        key = (key or env.get(ENV_API_KEY) or "").strip()
        if not key:
            raise RenderConfigError(
                f"No Render API key: set the environment variable {ENV_API_KEY} or the Pulumi "
                "secret config `render:apiKey` (pulumi config set --secret render:apiKey "
                "rnd_...). Create a key under Account Settings → API Keys in the Render Dashboard."
            )

        owner = (owner_id or env.get(ENV_OWNER_ID) or "").strip() or None
        if base_url:
            # The provider passes its stack config here; code calling resolve() does too.
            url = _check_base_url(
                base_url, where="The Render API URL (`render:apiUrl`)", api_key=key
            )
        else:
            url = _check_base_url(
                env.get(ENV_API_URL) or DEFAULT_BASE_URL, where=ENV_API_URL, api_key=key
            )

        if limits is None:
            limits_text = env.get(ENV_CLIENT_LIMITS, "").strip()
            if limits_text:
                try:
                    limits = ClientLimits.parse(limits_text)
                except ValueError as exc:
                    raise RenderConfigError(f"{ENV_CLIENT_LIMITS}: {exc}.") from None
            else:
                limits = ClientLimits()

        if timeouts is None:
            timeouts = _timeouts_from_env(env.get(ENV_TIMEOUT, "").strip())

        return cls(
            api_key=SecretStr(key),
            owner_id=owner,
            base_url=url,
            limits=limits,
            timeouts=timeouts,
            retry=retry or RetryPolicy(),
        )

    def __repr__(self) -> str:
        return (
            f"RenderSettings(api_key=SecretStr('**********'), owner_id={self.owner_id!r}, "
            f"base_url={self.base_url!r}, limits='{self.limits}', timeouts={self.timeouts!r}, "
            f"retry={self.retry!r})"
        )

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        _refuse_pickle("RenderSettings")

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        _refuse_pickle("RenderSettings")

    def __copy__(self) -> RenderSettings:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> RenderSettings:
        return self
