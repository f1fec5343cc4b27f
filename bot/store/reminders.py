"""Reminders of unclaimed escalations, on any `Database`.

Taking a reminder is one transaction: the escalation's reminder count moves from the count the
taker read to the next (a conditional write, so one taker wins per due time), with the
reminder's row and its decision_log rows. Posting it then follows `bot.store.posts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain import EscalationState, LogEntry, Reminder, SlackRef
from bot.store import codec, posts
from bot.store.database import Database
from bot.store.decision_log import log_insert
from bot.store.ops import AnyOf, Change, Insert, Query, Update, at_or_before, eq, is_null

OPEN = EscalationState.OPEN.value
TABLE = "escalation_reminders"


class Reminders:
    db: Database

    async def due_reminders(self, now: datetime, limit: int = 100) -> list[str]:
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
        where = (
            eq("id", reminder.escalation_id),
            eq("state", OPEN),
            eq("reminders_sent", expected_count),
        )
        values = {
            "reminders_sent": expected_count + 1,
            "next_reminder_at": codec.utc(next_reminder_at),
        }
        then = (Insert(TABLE, codec.reminder_row(reminder)), *(log_insert(e) for e in logs))
        taken = await self.db.apply(Change(Update("escalations", where, values), then))
        return None if taken is None else reminder

    async def get_reminder(self, reminder_id: str) -> Reminder | None:
        rows = await self.db.select(Query(TABLE, (eq("id", reminder_id),), limit=1))
        return codec.reminder_from_row(rows[0]) if rows else None

    async def claim_reminder_post(
        self, reminder_id: str, *, now: datetime, lease_until: datetime
    ) -> Reminder | None:
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
        update = posts.record(
            TABLE, "message", eq("id", reminder_id), codec.message_row(message), lease_until
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
        """No longer needed (the escalation was claimed first): never offer it again."""
        where = (eq("id", reminder_id), is_null("message_channel"), is_null("skipped_at"))
        await self.db.apply(Change(Update(TABLE, where, {"skipped_at": codec.utc(now)})))

    async def unposted_reminders(self, now: datetime, limit: int = 100) -> list[str]:
        query = Query(
            TABLE,
            (*posts.unposted("message", now), is_null("skipped_at")),
            order_by=("created_at", "id"),
            limit=limit,
            columns=("id",),
        )
        return [row["id"] for row in await self.db.select(query)]

    async def reminders_of(self, escalation_id: str) -> list[Reminder]:
        query = Query(TABLE, (eq("escalation_id", escalation_id),), order_by=("number",))
        return [codec.reminder_from_row(row) for row in await self.db.select(query)]


def _reminder(row: object) -> Reminder | None:
    return None if row is None else codec.reminder_from_row(row)  # type: ignore[arg-type]
