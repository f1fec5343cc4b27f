"""What a test can make the Slack stand-in do: fail the next calls of a method (a 429 with
Retry-After, an ``ok: false`` error, a failure after the call took effect), hold or slow
calls, refuse posts to a channel, and enforce Slack's per-channel posting rate limit."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.demo.standins.slack.model import Handler, SlackError
from bot.demo.standins.slack.workspace import Workspace


@dataclass
class _Failure:
    error: str
    status: int
    retry_after: int | None
    remaining: int
    after_effect: bool = False


class Hold:
    """Calls of one method kept waiting; ``set()`` lets them (and later calls) through in
    arrival order, ``set_newest_first()`` in reverse, as a congested Slack may answer them."""

    def __init__(self, *, answered: bool = False) -> None:
        self.answered = answered  # the call takes effect first; only its answer waits
        self._waiting: list[asyncio.Event] = []
        self._open = False

    @property
    def held(self) -> int:
        return len(self._waiting)

    async def wait(self) -> None:
        if self._open:
            return
        event = asyncio.Event()
        self._waiting.append(event)
        await event.wait()

    def set(self) -> None:
        self._release(self._waiting)

    def set_newest_first(self) -> None:
        self._release(list(reversed(self._waiting)))

    def _release(self, order: list[asyncio.Event]) -> None:
        self._open = True
        for event in order:
            event.set()
        self._waiting.clear()


class SlackFailure(SlackError):
    """An injected failure (`SlackStandin.fail_next`)."""

    def __init__(
        self, error: str, *, status: int, headers: Mapping[str, str] | None, after_effect: bool
    ) -> None:
        super().__init__(error, status=status, headers=headers)
        self.after_effect = after_effect


class Faults(Workspace):
    """Failure injection, holds, delays, refused posts and the posting limit."""

    _handlers: dict[str, Handler]
    _failures: dict[str, list[_Failure]]
    _holds: dict[str, Hold]
    _delays: dict[str, tuple[float, bool]]  # method -> (seconds, after effect)
    _post_limit: tuple[float, float] | None  # (per second, burst) per channel
    _refused: dict[str, str]  # channel id -> the error posting there answers
    _buckets: dict[str, tuple[float, float]]  # channel -> (tokens, at)

    def fail_next(
        self,
        method: str,
        error: str = "ratelimited",
        *,
        status: int | None = None,
        retry_after: int | None = 1,
        times: int = 1,
        after_effect: bool = False,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail.

        ``ratelimited`` answers HTTP 429 with ``Retry-After`` (as Slack does); any other error
        answers HTTP 200 with ``ok: false`` unless ``status`` says otherwise. With
        ``after_effect`` the call takes effect first (the message is posted) and only its
        answer is the failure: Slack says a 500 or a dropped connection may hide a call that
        went through (docs/real-services.md).
        """
        if method not in self._handlers:
            raise ValueError(f"the stand-in does not implement {method}")
        code = status if status is not None else (429 if error == "ratelimited" else 200)
        wait = retry_after if code == 429 else None
        failure = _Failure(error, code, wait, times, after_effect)
        self._failures.setdefault(method, []).append(failure)

    def refuse_posts(self, channel: str, error: str | None = "not_in_channel") -> None:
        """Refuse every chat.postMessage to ``channel`` with ``error``, as Slack does while the
        bot is not a member of a private channel (``not_in_channel``) or the channel is
        archived (``is_archived``); ``None`` lets posts through again."""
        channel_id = self._resolve_channel(channel)
        if error is None:
            self._refused.pop(channel_id, None)
        else:
            self._refused[channel_id] = error

    def hold(self, method: str, *, after_effect: bool = False) -> Hold:
        """Keep every call of ``method`` waiting until the returned hold is released: a slow
        Slack, for tests of what happens meanwhile. With ``after_effect`` the call takes
        effect at once (the message is posted) and only its answer is held back."""
        gate = self._holds[method] = Hold(answered=after_effect)
        return gate

    def limit_posts(self, per_second: float, burst: int = 1) -> None:
        """Enforce a per-channel posting limit on chat.postMessage, as Slack does ("Posting
        messages: 1 per second. Short bursts >1 allowed.", https://api.slack.com/docs/rate-limits;
        docs/real-services.md, section 20): a post over it is answered 429 ``ratelimited`` with
        ``Retry-After`` in whole seconds."""
        self._post_limit = (per_second, float(burst))
        self._buckets.clear()

    def slow(self, method: str, seconds: float, *, after_effect: bool = False) -> None:
        """Answer every call of ``method`` ``seconds`` late: Slack under load. With
        ``after_effect`` the call takes effect first and only its answer is late."""
        self._delays[method] = (seconds, after_effect)

    def _take_post_token(self, args: dict[str, Any]) -> None:
        assert self._post_limit is not None
        rate, burst = self._post_limit
        channel = self._resolve_channel(args.get("channel"))
        now = self._clock()
        tokens, at = self._buckets.get(channel, (burst, now))
        tokens = min(burst, tokens + (now - at) * rate)
        if tokens < 1:
            self._buckets[channel] = (tokens, now)
            wait = max(1, math.ceil((1 - tokens) / rate))
            raise SlackError("ratelimited", status=429, headers={"Retry-After": str(wait)})
        self._buckets[channel] = (tokens - 1, now)

    def _take_failure(self, method: str) -> SlackFailure | None:
        queue = self._failures.get(method)
        if not queue:
            return None
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.pop(0)
        retry_after = failure.retry_after
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        return SlackFailure(
            failure.error, status=failure.status, headers=headers, after_effect=failure.after_effect
        )
