"""Chatwoot's HTTP answers: the typed errors a call fails with, and how an answer becomes data
or one of them (see `bot.integrations.chatwoot` for which is which)."""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.integrations.retry_after import retry_after_seconds


class ChatwootError(Exception):
    """A Chatwoot call failed.

    Args:
        detail: what went wrong, for logs and the decision log.
        status: the HTTP status, when Chatwoot (or a proxy) answered.
        outcome_unknown: a state-changing request may have taken effect.
    """

    transient: bool = False

    def __init__(
        self, detail: str, *, status: int | None = None, outcome_unknown: bool = False
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.outcome_unknown = outcome_unknown


class ChatwootUnavailable(ChatwootError):
    """Chatwoot cannot take the request now (connect error, 5xx, 429); try again later."""

    transient = True

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        outcome_unknown: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(detail, status=status, outcome_unknown=outcome_unknown)
        self.retry_after = retry_after


class ChatwootTimeout(ChatwootError):
    """The request went out but no answer came in time: a POST may or may not have landed."""

    transient = True


class ChatwootRejected(ChatwootError):
    """Chatwoot refused the request; repeating it will not help."""


class ReplyWindowClosed(ChatwootRejected):
    """The conversation's channel takes no reply now (``can_reply`` is false): Chatwoot
    works, the customer just cannot be written to there until they write again."""


@dataclass(frozen=True, slots=True)
class Answer:
    """What Chatwoot (or whatever answered) sent back, read whole."""

    status: int
    reason: str
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return jsonlib.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def decode(answer: Answer, *, writes: bool) -> Any:
    status = answer.status
    if status == 429 or status >= 500:
        raise ChatwootUnavailable(
            f"HTTP {status}: {_error_text(answer)}",
            status=status,
            # a rate-limited request was not processed; a 5xx may have been, after the commit
            outcome_unknown=writes and status != 429,
            retry_after=retry_after_seconds(answer.headers.get("Retry-After")),
        )
    if status >= 300:
        if 300 <= status < 400:
            where = answer.headers.get("Location", "elsewhere")
            raise ChatwootRejected(f"HTTP {status}: redirected to {where}", status=status)
        raise ChatwootRejected(f"HTTP {status}: {_error_text(answer)}", status=status)
    try:
        return answer.json()
    except ValueError as exc:
        raise ChatwootRejected(
            f"HTTP {status} but the body is not JSON: {answer.text[:200]!r}", status=status
        ) from exc


def _error_text(answer: Answer) -> str:
    """Chatwoot's own message ({"error": ...}, {"message": ...}) or the start of the body."""
    try:
        body = answer.json()
    except ValueError:
        return answer.text.strip()[:200] or answer.reason
    if isinstance(body, dict):
        for key in ("error", "message", "errors"):
            if body.get(key):
                return str(body[key])[:200]
    return str(body)[:200]


def describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
