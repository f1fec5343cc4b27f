"""QA review: managers' verdicts on sent replies (one per reply), the review cards that put a
reply before a manager, the coaching note's direct message to the operator, and the numbers
read from them (decision quality per operator; the calibration of confidence bands).

A verdict is one conditional insert keyed by the reply's draft, with its ``qa.reviewed`` row
in the same transaction: the first reviewer wins, and a second gets None and writes nothing.
A coaching note is a Slack message posted once for its review row (`bot.store.posts`, prefix
``note_``), retried by the ``reposts`` job until Slack takes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, PrimaryKeyConstraint, Table, Text

from bot.domain import (
    Action,
    Band,
    BandOutcomes,
    LogEntry,
    OperatorQuality,
    QaReview,
    ReviewCard,
    SlackRef,
    Verdict,
)
from bot.store import codec, posts
from bot.store.codec import Row
from bot.store.columns import UtcDateTime, check_in, metadata, partial_index, views
from bot.store.database import Database
from bot.store.decision_log import log_insert
from bot.store.ops import Change, Cond, Insert, Query, Where, at_or_before, eq, one_of

READ_AT_ONCE = 100  # ids per `in.(…)` filter: well inside a PostgREST URL
UNSENT_NOTE = "verdict = 'coach' and note_channel is null"

qa_reviews_table = Table(
    "qa_reviews",
    metadata,
    Column("draft_id", Text, primary_key=True),  # the reply reviewed: one verdict each
    Column("operator", Text, nullable=False),  # who sent it
    Column("reviewer", Text, nullable=False),
    Column("verdict", Text, nullable=False),
    Column("note", Text),
    Column("reviewed_at", UtcDateTime, nullable=False),
    Column("decided_at", UtcDateTime, nullable=False),
    *posts.columns("note"),  # the coaching note's DM to the operator
    check_in("verdict", tuple(verdict.value for verdict in Verdict)),
    # The team's and each operator's decision quality over a window.
    Index("qa_reviews_reviewed_idx", "reviewed_at", "verdict"),
    Index("qa_reviews_operator_idx", "operator", "reviewed_at"),
    partial_index("qa_reviews_unsent_note_idx", "reviewed_at", where=UNSENT_NOTE),
)
TABLE = qa_reviews_table.name

qa_review_cards_table = Table(
    "qa_review_cards",
    metadata,
    Column("draft_id", Text, nullable=False),
    Column("reviewer", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("ts", Text, nullable=False),
    Column("posted_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("draft_id", "reviewer"),  # one card of a reply per manager
)
CARDS = qa_review_cards_table.name

# The team's decisions on live drafts with the confidence band each draft had (its log row's
# ``band``), Mark Resolved on a CX breach card left out (it judges no draft): a read-only
# view over decision_log, defined in migration 0020. Described here for querying only.
decision_bands_view = Table(
    "occ_decision_bands",
    views,
    Column("created_at", UtcDateTime),
    Column("action", Text),
    Column("band", Text),
)
BANDS = decision_bands_view.name
OUTCOME_OF = {
    "approved": Action.DRAFT_APPROVED,
    "edited": Action.DRAFT_EDITED,
    "rejected": Action.DRAFT_REJECTED,
    "escalated": Action.DRAFT_ESCALATED,
}


def review_row(review: QaReview) -> Row:
    return {
        "draft_id": review.draft_id,
        "operator": review.operator,
        "reviewer": review.reviewer,
        "verdict": review.verdict.value,
        "note": review.note,
        "reviewed_at": codec.utc(review.reviewed_at),
        "decided_at": codec.utc(review.decided_at),
    }


def review_from_row(row: Mapping[str, Any]) -> QaReview:
    return QaReview(
        draft_id=row["draft_id"],
        operator=row["operator"],
        reviewer=row["reviewer"],
        verdict=Verdict(row["verdict"]),
        note=row["note"],
        reviewed_at=codec.required_ts(row["reviewed_at"]),
        decided_at=codec.required_ts(row["decided_at"]),
        note_message=posts.slack_ref(row, "note"),
    )


def card_from_row(row: Mapping[str, Any]) -> ReviewCard:
    return ReviewCard(row["draft_id"], row["reviewer"], SlackRef(row["channel"], row["ts"]))


def window(column: str, since: datetime, until: datetime) -> Where:
    """From ``since`` to ``until``, both included."""
    return (Cond(column, "gte", codec.utc(since)), at_or_before(column, codec.utc(until)))


class QaReviews:
    """Managers' verdicts on sent replies, their review cards, and the coaching notes' DMs."""

    db: Database

    async def review_reply(self, review: QaReview, log: LogEntry) -> QaReview | None:
        """Record the reply's verdict with its ``qa.reviewed`` row, in one transaction; None,
        writing nothing, when the reply has a verdict already (whoever gave it)."""
        change = Change(Insert(TABLE, review_row(review), ignore_conflict=True), (log_insert(log),))
        row = await self.db.apply(change)
        return None if row is None else review_from_row(row)

    async def qa_review(self, draft_id: str) -> QaReview | None:
        rows = await self.db.select(Query(TABLE, (eq("draft_id", draft_id),), limit=1))
        return review_from_row(rows[0]) if rows else None

    async def qa_reviews_of(self, draft_ids: Sequence[str]) -> dict[str, QaReview]:
        """The verdicts given on these replies, by draft id."""
        found: dict[str, QaReview] = {}
        for start in range(0, len(draft_ids), READ_AT_ONCE):
            chunk = list(draft_ids[start : start + READ_AT_ONCE])
            for row in await self.db.select(Query(TABLE, (one_of("draft_id", chunk),))):
                found[row["draft_id"]] = review_from_row(row)
        return found

    # -- review cards -----------------------------------------------------------------------

    async def add_review_card(self, card: ReviewCard, posted_at: datetime) -> bool:
        """Record where a reply's card was posted for a manager; False, writing nothing, when
        that manager has a card of the reply already (a second `/occ review` at the same
        moment posted one too: the caller deletes its own)."""
        row = {
            "draft_id": card.draft_id,
            "reviewer": card.reviewer,
            "channel": card.message.channel,
            "ts": card.message.ts,
            "posted_at": codec.utc(posted_at),
        }
        return await self.db.apply(Change(Insert(CARDS, row, ignore_conflict=True))) is not None

    async def review_cards(self, draft_id: str) -> list[ReviewCard]:
        """Every manager's card of the reply, oldest first."""
        query = Query(CARDS, (eq("draft_id", draft_id),), order_by=("posted_at", "reviewer"))
        return [card_from_row(row) for row in await self.db.select(query)]

    async def review_cards_of(self, reviewer: str, draft_ids: Sequence[str]) -> dict[str, SlackRef]:
        """Where ``reviewer``'s cards of these replies are, by draft id."""
        found: dict[str, SlackRef] = {}
        for start in range(0, len(draft_ids), READ_AT_ONCE):
            chunk = list(draft_ids[start : start + READ_AT_ONCE])
            where = (eq("reviewer", reviewer), one_of("draft_id", chunk))
            for row in await self.db.select(Query(CARDS, where)):
                found[row["draft_id"]] = SlackRef(row["channel"], row["ts"])
        return found

    # -- the coaching note's direct message --------------------------------------------------

    async def claim_note_post(
        self, draft_id: str, *, now: datetime, lease_until: datetime
    ) -> QaReview | None:
        """Take the lease to send a Coach verdict's note: only while it is not sent, nobody
        holds an unexpired lease and it is not parked; None otherwise."""
        key = eq("draft_id", draft_id)
        update = posts.claim(TABLE, "note", key, now=now, lease_until=lease_until)
        update = replace(update, where=(*update.where, eq("verdict", Verdict.COACH.value)))
        row = await self.db.apply(Change(update))
        return None if row is None else review_from_row(row)

    async def set_note_message(
        self, draft_id: str, message: SlackRef, log: LogEntry, *, lease_until: datetime
    ) -> QaReview | None:
        """Record where the note reached the operator, with its log row, while holding that
        lease; None (nothing written) when the lease is no longer this sender's."""
        values = posts.posted_row("note", message)
        update = posts.record(TABLE, "note", eq("draft_id", draft_id), values, lease_until)
        row = await self.db.apply(Change(update, (log_insert(log),)))
        return None if row is None else review_from_row(row)

    async def refuse_note_post(
        self, draft_id: str, *, lease_until: datetime, log: LogEntry
    ) -> int | None:
        """Count Slack refusing the note for good (with its log row), while holding that
        lease: the refusals so far, or None if the lease is no longer this sender's."""
        update = posts.refuse(TABLE, "note", eq("draft_id", draft_id), lease_until)
        row = await self.db.apply(Change(update, (log_insert(log),)))
        return None if row is None else int(row["note_refusals"])

    async def unpark_notes(self) -> None:
        """Offer every parked note for sending again (a DM to its operator works again)."""
        await self.db.apply(Change(posts.unpark(TABLE, "note")))

    async def unsent_notes(self, now: datetime, limit: int = 100) -> list[str]:
        """The draft ids of Coach verdicts whose note is not sent and free to send, oldest
        verdict first."""
        where = (eq("verdict", Verdict.COACH.value), *posts.unposted("note", now))
        query = Query(TABLE, where, order_by=("reviewed_at", "draft_id"), limit=limit)
        return [row["draft_id"] for row in await self.db.select(query)]

    # -- numbers ---------------------------------------------------------------------------

    async def quality_by_operator(
        self, *, since: datetime, until: datetime
    ) -> list[OperatorQuality]:
        """Each operator's replies reviewed from ``since`` to ``until`` (both included, by
        when they were reviewed) and how many were Good, counted in SQL; by operator id."""
        reviewed = window("reviewed_at", since, until)
        rows = await self.db.select(
            Query(TABLE, reviewed, order_by=("operator",), columns=("operator",))
        )
        operators = list(dict.fromkeys(row["operator"] for row in rows))
        if not operators:
            return []
        good = eq("verdict", Verdict.GOOD.value)
        counts = await self.db.counts(
            {
                f"{kind}:{operator}": (TABLE, (*reviewed, eq("operator", operator), *extra))
                for operator in operators
                for kind, extra in (("reviewed", ()), ("good", (good,)))
            }
        )
        return [
            OperatorQuality(operator, counts[f"reviewed:{operator}"], counts[f"good:{operator}"])
            for operator in operators
        ]

    async def calibration(self, *, since: datetime, until: datetime) -> list[BandOutcomes]:
        """The team's decisions from ``since`` to ``until`` (both included) by the confidence
        band of the draft decided, High first, counted in SQL."""
        decided = window("created_at", since, until)
        counts = await self.db.counts(
            {
                f"{band.value}:{name}": (
                    BANDS,
                    (*decided, eq("band", band.value), eq("action", action.value)),
                )
                for band in Band
                for name, action in OUTCOME_OF.items()
            }
        )
        return [
            BandOutcomes(band, **{name: counts[f"{band.value}:{name}"] for name in OUTCOME_OF})
            for band in Band
        ]
