"""Escalations: manager messages, claims, resolutions and reminders, on any `Database`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.domain import (
    Escalation,
    EscalationState,
    LogEntry,
    OutboxMessage,
    Reply,
    Resolution,
    SlackRef,
)
from bot.store import codec, deliveries, posts
from bot.store.database import Database
from bot.store.decision_log import log_insert
from bot.store.errors import NotFound
from bot.store.ops import (
    Change,
    Query,
    Update,
    Where,
    eq,
    one_of,
)
from bot.store.outbox import outbox_insert

OPEN = EscalationState.OPEN.value
UNRESOLVED = (EscalationState.OPEN.value, EscalationState.CLAIMED.value)


class Escalations:
    db: Database

    async def get_escalation(self, escalation_id: str) -> Escalation | None:
        return await self._escalation_where(eq("id", escalation_id))

    async def escalation_for_draft(self, draft_id: str) -> Escalation | None:
        return await self._escalation_where(eq("draft_id", draft_id))

    async def _escalation_where(self, *where: Any) -> Escalation | None:
        rows = await self.db.select(Query("escalations", where, limit=1))
        return _escalation(rows[0] if rows else None)

    async def open_escalations(self, limit: int) -> list[Escalation]:
        """Escalations not resolved yet (open or claimed), the soonest due first."""
        query = Query(
            "escalations",
            (one_of("state", [EscalationState.OPEN.value, EscalationState.CLAIMED.value]),),
            order_by=("due_at", "id"),
            limit=limit,
        )
        return [codec.escalation_from_row(row) for row in await self.db.select(query)]

    async def set_escalation_message(
        self,
        escalation_id: str,
        message: SlackRef,
        log: LogEntry,
        *,
        lease_until: datetime | None = None,
    ) -> Escalation | None:
        key, values = eq("id", escalation_id), codec.message_row(message)
        update = posts.record("escalations", "message", key, values, lease_until)
        escalation = _escalation(await self.db.apply(Change(update, (log_insert(log),))))
        if escalation is None and await self.get_escalation(escalation_id) is None:
            raise NotFound(f"escalation {escalation_id!r}")
        return escalation

    async def refuse_message_post(
        self, escalation_id: str, *, lease_until: datetime, log: LogEntry
    ) -> int | None:
        update = posts.refuse("escalations", "message", eq("id", escalation_id), lease_until)
        row = await self.db.apply(Change(update, (log_insert(log),)))
        return None if row is None else int(row["message_refusals"])

    async def unpark_messages(self) -> None:
        await self.db.apply(Change(posts.unpark("escalations", "message")))

    async def claim_escalation_post(
        self, escalation_id: str, *, now: datetime, lease_until: datetime
    ) -> Escalation | None:
        key = eq("id", escalation_id)
        update = posts.claim("escalations", "message", key, now=now, lease_until=lease_until)
        return _escalation(await self.db.apply(Change(update)))

    async def unposted_escalations(self, now: datetime, limit: int = 100) -> list[str]:
        query = Query(
            "escalations",
            (one_of("state", UNRESOLVED), *posts.unposted("message", now)),
            order_by=("created_at", "id"),
            limit=limit,
            columns=("id",),
        )
        return [row["id"] for row in await self.db.select(query)]

    async def claim_escalation(
        self,
        escalation_id: str,
        *,
        actor: str,
        now: datetime,
        next_reminder_at: datetime | None,
        log: LogEntry,
    ) -> Escalation | None:
        values = {
            "state": EscalationState.CLAIMED.value,
            "claimed_by": actor,
            "claimed_at": codec.utc(now),
            "next_reminder_at": None if next_reminder_at is None else codec.utc(next_reminder_at),
        }
        return await self._change((eq("id", escalation_id), eq("state", OPEN)), values, log)

    async def resolve_escalation(
        self,
        escalation_id: str,
        *,
        actor: str,
        now: datetime,
        log: LogEntry,
        resolution: Resolution | None = None,
        messages: Sequence[OutboxMessage] = (),
    ) -> Escalation | None:
        values = {
            "state": EscalationState.RESOLVED.value,
            "resolved_by": actor,
            "resolved_at": codec.utc(now),
            **codec.resolution_columns(resolution),
        }
        where = (eq("id", escalation_id), one_of("state", UNRESOLVED))
        then = (log_insert(log), *(outbox_insert(m) for m in messages))
        update = Update("escalations", where, values)
        return _escalation(await self.db.apply(Change(update, then)))

    async def claim_note(
        self, escalation_id: str, *, now: datetime, lease_until: datetime, force: bool = False
    ) -> Escalation | None:
        update = deliveries.claim(
            "escalations",
            "note",
            eq("id", escalation_id),
            now=now,
            lease_until=lease_until,
            force=force,
        )
        return _escalation(await self.db.apply(Change(update)))

    async def finish_note(
        self, escalation_id: str, note: Reply, log: LogEntry
    ) -> Escalation | None:
        update = deliveries.finish("escalations", "note", eq("id", escalation_id), note)
        return _escalation(await self.db.apply(Change(update, (log_insert(log),))))

    async def due_notes(self, now: datetime, limit: int = 100) -> list[str]:
        query = Query(
            "escalations",
            deliveries.due("note", now),
            order_by=("created_at", "id"),
            limit=limit,
            columns=("id",),
        )
        return [row["id"] for row in await self.db.select(query)]

    async def _change(
        self, where: Where, values: Mapping[str, Any], log: LogEntry | None = None
    ) -> Escalation | None:
        then = (log_insert(log),) if log is not None else ()
        return _escalation(await self.db.apply(Change(Update("escalations", where, values), then)))


def _escalation(row: Mapping[str, Any] | None) -> Escalation | None:
    return None if row is None else codec.escalation_from_row(row)
