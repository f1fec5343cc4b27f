"""Pacing posts per channel at Slack's rate, so a burst waits its turn instead of meeting 429s.

Slack's `chat.postMessage` "generally allows posting one message per second per channel"
with "short bursts >1 allowed" (https://api.slack.com/docs/rate-limits, "Posting messages";
docs/real-services.md, section 20). Past that it answers 429 with a whole-second
``Retry-After``, and slack_sdk then sleeps that plus up to a second of jitter: a burst that
hits the limit loses more than a second per refusal. Each channel here has a token bucket
(``burst`` tokens, refilled at ``per_second``): a post takes its turn, in the order posts
asked for one, and a 429 that still comes (another replica posting to the same channel)
empties the bucket and holds the channel for its ``Retry-After``.

The bucket is this process's: with several replicas each paces itself, and their sum may
exceed Slack's rate. So a 429 also halves this replica's rate for the channel (down to a
sixteenth), which then climbs back to the full rate over `RECOVERY_SECONDS` of posting: the
replicas sharing a channel settle near their share of it (additive increase, multiplicative
decrease, as TCP shares a link) instead of each meeting a 429 every few posts
(docs/choices.md).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

BUCKETS_KEPT = 1_000  # channels remembered; idle full buckets are forgotten past this
SLOWEST = 1 / 16  # of the full rate, after 429s
RECOVERY_SECONDS = 20.0  # from the slowest rate back to the full one, while posting


@dataclass
class _Bucket:
    tokens: float
    at: float
    rate: float  # posts a second now: the full rate, or less after a 429
    held_until: float = 0.0
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)  # FIFO: waiters keep their order


class PostPacer:
    def __init__(
        self,
        per_second: float,
        burst: int,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.per_second = per_second
        self.burst = float(burst)
        self._monotonic = monotonic
        self._sleep = sleep
        self._buckets: dict[str, _Bucket] = {}

    @property
    def window(self) -> float:
        """Seconds between two posts to one channel at the paced rate."""
        return 1.0 / self.per_second

    async def turn(self, channel: str) -> None:
        """Wait until ``channel`` may take one more post, then count it."""
        bucket = self._bucket(channel)
        async with bucket.turn:
            while (wait := self._wait(bucket)) > 0:
                await self._sleep(wait)
            bucket.tokens -= 1

    def rate_limited(self, channel: str, retry_after: float) -> None:
        """Slack answered 429: nothing more to ``channel`` for ``retry_after`` seconds, then
        one post, and the rest at half the rate it was paced at."""
        bucket = self._bucket(channel)
        bucket.held_until = max(bucket.held_until, self._monotonic() + retry_after)
        bucket.tokens, bucket.at = 1.0, bucket.held_until  # refilled from the hold's end
        bucket.rate = max(self.per_second * SLOWEST, bucket.rate / 2)

    def _wait(self, bucket: _Bucket) -> float:
        now = self._monotonic()
        if now < bucket.held_until:
            return bucket.held_until - now
        elapsed = now - bucket.at
        bucket.tokens = min(self.burst, bucket.tokens + elapsed * bucket.rate)
        climb = self.per_second * elapsed / RECOVERY_SECONDS
        bucket.rate = min(self.per_second, bucket.rate + climb)
        bucket.at = now
        return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / bucket.rate

    def _bucket(self, channel: str) -> _Bucket:
        bucket = self._buckets.get(channel)
        if bucket is None:
            if len(self._buckets) >= BUCKETS_KEPT:
                self._forget_idle()
            bucket = self._buckets[channel] = _Bucket(
                self.burst, self._monotonic(), self.per_second
            )
        return bucket

    def _forget_idle(self) -> None:
        now = self._monotonic()
        for channel, bucket in list(self._buckets.items()):
            refilled = bucket.tokens + (now - bucket.at) * bucket.rate >= self.burst
            if refilled and not bucket.turn.locked() and now >= bucket.held_until:
                del self._buckets[channel]
