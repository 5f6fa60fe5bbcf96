"""Scrub secrets out of text before it reaches an exception, a repr or a log line.

This is the client's only redaction code. It removes:

- passwords in URLs with credentials (``rediss://user:PASSWORD@host`` → ``rediss://user:***@host``);
- ``REDISCLI_AUTH=…`` (Render's ``cliCommand``) and ``-a``/``--pass``/``--password`` arguments;
- ``Bearer …`` tokens and ``Authorization: …`` header values;
- Render API keys (``rnd_…``);
- ``password=``/``token=``/``api_key=``/``secret=`` style query or form parameters;
- any exact secret value the caller hands in (the configured API key, for instance); one
  shorter than 4 characters only where it stands alone, not inside a longer word.

Redaction is deliberately eager: a false positive costs a little readability, a false negative
leaks a credential.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["MASK", "redact", "summarize_body"]

MASK = "***"

# Exact secrets shorter than this are masked only where they stand alone as a word: masking
# every "ab" inside other words would shred the text, while a short key or token echoed by
# Render ("invalid token ab") is still a credential and must go.
_MIN_SECRET_LENGTH = 4

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # scheme://user:password@host — the password may hold anything but whitespace and '@'.
    (
        re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*:)[^\s@]+?(?=@)"),
        rf"\g<head>{MASK}",
    ),
    (re.compile(r"(?P<head>REDISCLI_AUTH=)(?:\"[^\"]*\"|'[^']*'|\S+)"), rf"\g<head>{MASK}"),
    (
        re.compile(r"(?P<head>(?:^|\s)(?:-a|--pass|--password|--user-password)(?:\s+|=))\S+"),
        rf"\g<head>{MASK}",
    ),
    (re.compile(r"(?P<head>\bBearer\s+)[^\s,;\"']+", re.IGNORECASE), rf"\g<head>{MASK}"),
    (
        re.compile(r"(?P<head>\b(?:proxy-)?authorization\s*[:=]\s*)[^\r\n,;]+", re.IGNORECASE),
        rf"\g<head>{MASK}",
    ),
    (re.compile(r"\brnd_[A-Za-z0-9]{6,}"), f"rnd_{MASK}"),
    (
        re.compile(
            r"(?P<head>\b(?:password|passwd|pwd|pass|token|secret|api[_-]?key|apikey)"
            r"(?P<q>[\"']?)\s*[:=]\s*(?P=q)\s*)(?:\"[^\"]*\"|'[^']*'|[^\s&,;\"'}]+)",
            re.IGNORECASE,
        ),
        rf"\g<head>{MASK}",
    ),
)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Return ``text`` with every credential it contains replaced by ``***``.

    ``secrets`` are exact values that must never appear (for example the API key), whatever
    their shape; they are removed before the pattern rules run.
    """
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        if len(secret) >= _MIN_SECRET_LENGTH:
            text = text.replace(secret, MASK)
        else:
            text = _whole_token(secret).sub(MASK, text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _whole_token(secret: str) -> re.Pattern[str]:
    """``secret`` where no word character (letter, digit, ``_``) touches it on either side."""
    return re.compile(rf"(?<!\w){re.escape(secret)}(?!\w)")


def summarize_body(body: bytes | str, secrets: Iterable[str | None] = (), limit: int = 300) -> str:
    """A short, redacted, single-line excerpt of a response body for error messages."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    text = " ".join(text.split())
    # Redact before truncating, so a cut cannot split a secret past the patterns.
    text = redact(text, secrets)
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text
