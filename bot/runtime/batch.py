"""Working through a batch of items so that one failing item never stops the rest."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("occ.jobs")


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
