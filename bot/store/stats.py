"""The team's numbers, on any `Database`: counted and ordered in SQL over the views of
migration 0013 (described here for querying) and the QA reviews' table, never by loading the
decision log.

A window's numbers take three round trips: one statement of counts, then the median and
the 90th percentile of the time to decide, each the one row at its rank (nearest rank).
"""

from __future__ import annotations

import math
from datetime import datetime

from sqlalchemy import Column, Float, Integer, Table, Text

from bot.domain import Action, DecisionStats, Verdict
from bot.store import codec, qa_reviews
from bot.store.columns import UtcDateTime, views
from bot.store.database import Database
from bot.store.ops import Cond, Query, Where, at_or_before, eq, not_null

# The figures the team's numbers are read from: read-only views over decision_log, defined in
# migration 0013 (one per figure), so that every backend, Supabase's REST API included, counts
# and orders them in SQL. Described here for querying only; they are never created from here.
decision_times_view = Table(
    "occ_decision_times",  # operators' decisions on live drafts, with the time each took
    views,
    Column("created_at", UtcDateTime),
    Column("actor", Text),
    Column("action", Text),
    Column("waited_seconds", Float),
)
claims_view = Table(
    "occ_claims",  # managers' claims of escalations, within the SLA (1) or not (0)
    views,
    Column("created_at", UtcDateTime),
    Column("actor", Text),
    Column("within_sla", Integer),
)
breaches_view = Table(
    "occ_breaches",  # conversations found waiting past the CX SLA
    views,
    Column("created_at", UtcDateTime),
)

DECISIONS = decision_times_view.name
CLAIMS = claims_view.name
BREACHES = breaches_view.name
KINDS = {
    "approved": Action.DRAFT_APPROVED,
    "edited": Action.DRAFT_EDITED,
    "rejected": Action.DRAFT_REJECTED,
    "escalated": Action.DRAFT_ESCALATED,
}


class Stats:
    """The team's numbers, from SQL over decision_log's views."""

    db: Database

    async def decision_stats(
        self, *, since: datetime, until: datetime, actor: str | None = None
    ) -> DecisionStats:
        """The numbers of what happened from ``since`` to ``until``, both included ("so far
        today" includes this instant); by ``actor`` if given (then claims are theirs too, and
        reviews are of their replies; breaches are always the team's). Reviews count when
        they were made."""
        window: Where = (
            Cond("created_at", "gte", codec.utc(since)),
            at_or_before("created_at", codec.utc(until)),
        )
        mine: Where = (*window, eq("actor", actor)) if actor else window
        timed = (*mine, not_null("waited_seconds"))
        reviews = qa_reviews.window("reviewed_at", since, until)
        if actor:
            reviews = (*reviews, eq("operator", actor))
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
                "reviewed": (qa_reviews.TABLE, reviews),
                "reviewed_good": (
                    qa_reviews.TABLE,
                    (*reviews, eq("verdict", Verdict.GOOD.value)),
                ),
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
