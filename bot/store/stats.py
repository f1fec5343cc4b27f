"""The team's numbers, on any `Database`: counted and ordered in SQL over the views of
migration 0013, never by loading the decision log.

A window's numbers take three round trips: one statement of counts, then the median and
the 90th percentile of the time to decide, each the one row at its rank (nearest rank).
"""

from __future__ import annotations

import math
from datetime import datetime

from bot.domain import Action, DecisionStats
from bot.store import codec
from bot.store.database import Database
from bot.store.ops import Cond, Query, Where, at_or_before, eq, not_null

DECISIONS = "occ_decision_times"
CLAIMS = "occ_claims"
BREACHES = "occ_breaches"
KINDS = {
    "approved": Action.DRAFT_APPROVED,
    "edited": Action.DRAFT_EDITED,
    "rejected": Action.DRAFT_REJECTED,
    "escalated": Action.DRAFT_ESCALATED,
}


class Stats:
    db: Database

    async def decision_stats(
        self, *, since: datetime, until: datetime, actor: str | None = None
    ) -> DecisionStats:
        """The numbers of what happened from ``since`` to ``until`` (both included: "so far
        today" includes this instant), by ``actor`` if given (then claims are theirs too;
        breaches are always the team's)."""
        window: Where = (
            Cond("created_at", "gte", codec.utc(since)),
            at_or_before("created_at", codec.utc(until)),
        )
        mine: Where = (*window, eq("actor", actor)) if actor else window
        timed = (*mine, not_null("waited_seconds"))
        counts = await self.db.counts(
            {
                **{
                    name: (DECISIONS, (*mine, eq("action", kind.value)))
                    for name, kind in KINDS.items()
                },
                "timed": (DECISIONS, timed),
                "claims": (CLAIMS, mine),
                "claims_within_sla": (CLAIMS, (*mine, eq("within_sla", 1))),
                "breaches": (BREACHES, window),
            }
        )
        n = counts.pop("timed")
        return DecisionStats(
            **counts,
            median_seconds=await self._nth(timed, math.ceil(0.5 * n) - 1) if n else None,
            p90_seconds=await self._nth(timed, math.ceil(0.9 * n) - 1) if n else None,
        )

    async def _nth(self, where: Where, rank: int) -> float | None:
        """The time to decide at this rank (0-based), shortest first."""
        query = Query(
            DECISIONS,
            where,
            order_by=("waited_seconds",),
            limit=1,
            offset=rank,
            columns=("waited_seconds",),
        )
        rows = await self.db.select(query)
        return float(rows[0]["waited_seconds"]) if rows else None
