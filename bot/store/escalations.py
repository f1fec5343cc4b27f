"""Escalations: manager messages, claims, resolutions and reminders, on any `Database`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.domain import Escalation, EscalationState, LogEntry, SlackRef
from bot.store import codec
from bot.store.database import Database
from bot.store.drafts import log_insert
from bot.store.errors import NotFound
from bot.store.ops import (
    AnyOf,
    Change,
    Query,
    Update,
    Where,
    at_or_before,
    eq,
    free_lease,
    is_null,
    one_of,
)

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

    async def set_escalation_message(
        self, escalation_id: str, message: SlackRef, log: LogEntry
    ) -> Escalation:
        escalation = await self._change((eq("id", escalation_id),), codec.message_row(message), log)
        if escalation is None:
            raise NotFound(f"escalation {escalation_id!r}")
        return escalation

    async def claim_escalation_post(
        self, escalation_id: str, *, now: datetime, lease_until: datetime
    ) -> Escalation | None:
        where = (
            eq("id", escalation_id),
            is_null("message_channel"),
            free_lease("message_lease_until", now),
        )
        return await self._change(where, {"message_lease_until": codec.utc(lease_until)})

    async def unposted_escalations(self, now: datetime, limit: int = 100) -> list[str]:
        query = Query(
            "escalations",
            (
                one_of("state", UNRESOLVED),
                is_null("message_channel"),
                free_lease("message_lease_until", now),
            ),
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
        self, escalation_id: str, *, actor: str, now: datetime, log: LogEntry
    ) -> Escalation | None:
        values = {
            "state": EscalationState.RESOLVED.value,
            "resolved_by": actor,
            "resolved_at": codec.utc(now),
        }
        where = (eq("id", escalation_id), one_of("state", UNRESOLVED))
        return await self._change(where, values, log)

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

    async def mark_reminded(
        self,
        escalation_id: str,
        *,
        expected_count: int,
        next_reminder_at: datetime,
        log: LogEntry,
    ) -> Escalation | None:
        values = {
            "reminders_sent": expected_count + 1,
            "next_reminder_at": codec.utc(next_reminder_at),
        }
        where = (eq("id", escalation_id), eq("state", OPEN), eq("reminders_sent", expected_count))
        return await self._change(where, values, log)

    async def _change(
        self, where: Where, values: Mapping[str, Any], log: LogEntry | None = None
    ) -> Escalation | None:
        then = (log_insert(log),) if log is not None else ()
        return _escalation(await self.db.apply(Change(Update("escalations", where, values), then)))


def _escalation(row: Mapping[str, Any] | None) -> Escalation | None:
    return None if row is None else codec.escalation_from_row(row)
