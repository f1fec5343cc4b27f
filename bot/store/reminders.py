"""Reminders of unclaimed escalations: the table, its rows, and the store, on any `Database`.

Taking a reminder is one transaction: the escalation's reminder count moves from the count the
taker read to the next (a conditional write, so one taker wins per due time), with the
reminder's row and its decision_log rows. Posting it then follows `bot.store.posts`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Integer, Table, Text, UniqueConstraint

from bot.domain import EscalationState, LogEntry, Reminder, SlackRef
from bot.store import codec, posts
from bot.store.codec import Row
from bot.store.columns import UtcDateTime, metadata, partial_index
from bot.store.database import Database
from bot.store.decision_log import log_insert
from bot.store.ops import (
    AnyOf,
    Change,
    Insert,
    Query,
    Update,
    at_or_before,
    eq,
    fewer_than,
    is_null,
)

OPEN = EscalationState.OPEN.value

# One row per reminder of an unclaimed escalation, written in the same transaction that
# moves the escalation's reminder count on: taking a reminder is that conditional write, so
# each due time gets one row however many replicas tick. The row is then posted once (the
# `message_` post columns), and re-offered until it is posted or no longer needed.
reminders_table = Table(
    "escalation_reminders",
    metadata,
    Column("id", Text, primary_key=True),
    Column("escalation_id", Text, ForeignKey("escalations.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("level", Integer, nullable=False),
    Column("notify", Text, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("message_channel", Text),
    Column("message_ts", Text),
    Column("message_lease_until", UtcDateTime),
    Column("message_refusals", Integer, nullable=False, server_default="0"),
    Column("message_attempts", Integer, nullable=False, server_default="0"),
    Column("skipped_at", UtcDateTime),
    UniqueConstraint("escalation_id", "number", name="escalation_reminders_number_key"),
    partial_index(
        "escalation_reminders_unposted_idx",
        "created_at",
        where="message_channel is null and skipped_at is null",
    ),
)
TABLE = reminders_table.name


def reminder_row(reminder: Reminder) -> Row:
    return {
        "id": reminder.id,
        "escalation_id": reminder.escalation_id,
        "number": reminder.number,
        "level": reminder.level,
        "notify": reminder.notify,
        "due_at": codec.utc(reminder.due_at),
        "created_at": codec.utc(reminder.created_at),
    }


def reminder_from_row(row: Mapping[str, Any]) -> Reminder:
    return Reminder(
        id=row["id"],
        escalation_id=row["escalation_id"],
        number=int(row["number"]),
        level=int(row["level"]),
        notify=row["notify"],
        due_at=codec.required_ts(row["due_at"]),
        created_at=codec.required_ts(row["created_at"]),
        message=posts.slack_ref(row, "message"),
        attempts=int(row.get("message_attempts") or 0),
    )


class Reminders:
    """Reminders of unclaimed escalations: taken once per due time, then posted once."""

    db: Database

    async def due_reminders(self, now: datetime, limit: int = 100) -> list[str]:
        """Ids of open escalations whose next reminder is due at ``now``, earliest first."""
        query = Query(
            "escalations",
            (
                eq("state", OPEN),
                at_or_before("due_at", now),
                AnyOf(((is_null("next_reminder_at"),), (at_or_before("next_reminder_at", now),))),
            ),
            order_by=("due_at", "id"),
            limit=limit,
            columns=("id",),
        )
        return [row["id"] for row in await self.db.select(query)]

    async def take_reminder(
        self,
        reminder: Reminder,
        *,
        expected_count: int,
        next_reminder_at: datetime,
        logs: Sequence[LogEntry] = (),
    ) -> Reminder | None:
        """Store ``reminder`` and its log rows, and move the escalation's count from
        ``expected_count`` on, in one transaction; None (nothing written) unless the
        escalation is still open with that count."""
        where = (
            eq("id", reminder.escalation_id),
            eq("state", OPEN),
            eq("reminders_sent", expected_count),
        )
        values = {
            "reminders_sent": expected_count + 1,
            "next_reminder_at": codec.utc(next_reminder_at),
        }
        then = (Insert(TABLE, reminder_row(reminder)), *(log_insert(e) for e in logs))
        taken = await self.db.apply(Change(Update("escalations", where, values), then))
        return None if taken is None else reminder

    async def get_reminder(self, reminder_id: str) -> Reminder | None:
        rows = await self.db.select(Query(TABLE, (eq("id", reminder_id),), limit=1))
        return reminder_from_row(rows[0]) if rows else None

    async def claim_reminder_post(
        self, reminder_id: str, *, now: datetime, lease_until: datetime
    ) -> Reminder | None:
        """Take the lease to post a reminder; as `Drafts.claim_card_post`."""
        update = posts.claim(
            TABLE, "message", eq("id", reminder_id), now=now, lease_until=lease_until
        )
        update = Update(
            update.table,
            (*update.where, is_null("skipped_at")),
            update.values,
            increments={"message_attempts": 1},
        )
        return _reminder(await self.db.apply(Change(update)))

    async def record_reminder(
        self,
        reminder_id: str,
        message: SlackRef,
        logs: Sequence[LogEntry],
        *,
        lease_until: datetime,
    ) -> Reminder | None:
        """Where the reminder was posted, with its log rows, while ``lease_until`` holds."""
        update = posts.record(
            TABLE,
            "message",
            eq("id", reminder_id),
            posts.posted_row("message", message),
            lease_until,
        )
        then = tuple(log_insert(e) for e in logs)
        return _reminder(await self.db.apply(Change(update, then)))

    async def refuse_reminder_post(
        self, reminder_id: str, *, lease_until: datetime, log: LogEntry
    ) -> int | None:
        update = posts.refuse(TABLE, "message", eq("id", reminder_id), lease_until)
        row = await self.db.apply(Change(update, (log_insert(log),)))
        return None if row is None else int(row["message_refusals"])

    async def unpark_reminders(self) -> None:
        await self.db.apply(Change(posts.unpark(TABLE, "message")))

    async def skip_reminder(self, reminder_id: str, *, now: datetime) -> None:
        """Never offer an unposted reminder again: no longer needed (its escalation was
        claimed first)."""
        where = (eq("id", reminder_id), is_null("message_channel"), is_null("skipped_at"))
        await self.db.apply(Change(Update(TABLE, where, {"skipped_at": codec.utc(now)})))

    async def unposted_reminders(self, now: datetime, limit: int = 100) -> list[str]:
        """Ids of reminders not posted, not skipped and not being posted, oldest first."""
        query = Query(
            TABLE,
            (*posts.unposted("message", now), is_null("skipped_at")),
            order_by=("created_at", "id"),
            limit=limit,
            columns=("id",),
        )
        return [row["id"] for row in await self.db.select(query)]

    async def oldest_waiting_reminder(self, now: datetime) -> datetime | None:
        """The earliest due time, at or before ``now``, of a reminder not yet in Slack: an
        open escalation's next reminder not taken, or one taken and not posted (parked ones
        excepted: their channel has its own incident)."""
        first_due = Query(
            "escalations",
            (eq("state", OPEN), is_null("next_reminder_at"), at_or_before("due_at", now)),
            order_by=("due_at",),
            limit=1,
            columns=("due_at",),
        )
        next_due = Query(
            "escalations",
            (eq("state", OPEN), at_or_before("next_reminder_at", now)),
            order_by=("next_reminder_at",),
            limit=1,
            columns=("next_reminder_at",),
        )
        unposted = Query(
            TABLE,
            (
                is_null("message_channel"),
                is_null("skipped_at"),
                fewer_than("message_refusals", posts.PARK_AFTER_REFUSALS),
                at_or_before("due_at", now),
            ),
            order_by=("due_at",),
            limit=1,
            columns=("due_at",),
        )
        found = [
            codec.required_ts(row[column])
            for query, column in (
                (first_due, "due_at"),
                (next_due, "next_reminder_at"),
                (unposted, "due_at"),
            )
            for row in await self.db.select(query)
        ]
        return min(found, default=None)

    async def reminders_of(self, escalation_id: str) -> list[Reminder]:
        query = Query(TABLE, (eq("escalation_id", escalation_id),), order_by=("number",))
        return [reminder_from_row(row) for row in await self.db.select(query)]


def _reminder(row: Mapping[str, Any] | None) -> Reminder | None:
    return None if row is None else reminder_from_row(row)
