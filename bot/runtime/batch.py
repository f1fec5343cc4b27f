"""Working through a batch of items so that one failing item never stops the rest."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

log = logging.getLogger("occ.jobs")

T = TypeVar("T")


@dataclass(frozen=True)
class Tally:
    tried: int = 0
    failed: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.tried + other.tried, self.failed + other.failed)

    def describe(self, noun: str) -> str:
        text = f"{self.tried} {noun} tried"
        return f"{text}, {self.failed} failed (see the log)" if self.failed else text


async def each(items: Sequence[str], work: Callable[[str], Awaitable[Any]], *, what: str) -> Tally:
    """Run ``work`` on every item in turn. One that raises is logged with its traceback and
    counted; its lease or state brings it back on a later run."""
    failed = 0
    for item in items:
        try:
            await work(item)
        except Exception:
            failed += 1
            log.exception("%s %s failed", what, item)
    return Tally(len(items), failed)


async def each_pipelined(
    items: Sequence[str],
    prepare: Callable[[str], Awaitable[T]],
    finish: Callable[[T], Awaitable[Any]],
    *,
    what: str,
) -> Tally:
    """As `each`, but the next item is prepared while this one is finished: ``finish`` still
    takes the items one at a time, in order (posts stay in due order), and its waits (Slack,
    its pacing) no longer add the next item's database work to each item's time."""
    failed = 0
    ahead = asyncio.ensure_future(prepare(items[0])) if items else None
    try:
        for n, item in enumerate(items):
            assert ahead is not None
            current = ahead
            ahead = asyncio.ensure_future(prepare(items[n + 1])) if n + 1 < len(items) else None
            try:
                await finish(await current)
            except Exception:
                failed += 1
                log.exception("%s %s failed", what, item)
    finally:
        if ahead is not None and not ahead.done():
            ahead.cancel()
    return Tally(len(items), failed)
