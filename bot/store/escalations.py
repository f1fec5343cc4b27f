"""Escalations: the table, its rows, and the store of manager messages, claims and
resolutions, on any `Database` (the escalation's private note is in the outbox)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Float, ForeignKey, Integer, Table, Text

from bot.domain import (
    Escalation,
    EscalationState,
    EscalationType,
    LogEntry,
    OutboxMessage,
    Resolution,
    ResolutionOutcome,
    SlackRef,
    Urgency,
)
from bot.store import codec, posts
from bot.store.codec import Row
from bot.store.columns import UtcDateTime, check_in, metadata, partial_index
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
URGENCIES = ("urgent", "high", "normal")
ESCALATION_STATES = ("open", "claimed", "resolved")

escalations_table = Table(
    "escalations",
    metadata,
    Column("id", Text, primary_key=True),
    Column("draft_id", Text, ForeignKey("drafts.id"), nullable=False, unique=True),
    Column("conversation_id", BigInteger),
    Column("type", Text, nullable=False),
    Column("urgency", Text, nullable=False),
    Column("notes", Text, nullable=False, server_default=""),
    Column("escalated_by", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("state", Text, nullable=False, server_default="open"),
    Column("message_channel", Text),
    Column("message_ts", Text),
    Column("claimed_by", Text),
    Column("claimed_at", UtcDateTime),
    Column("resolved_by", Text),
    Column("resolved_at", UtcDateTime),
    Column("reminders_sent", Integer, nullable=False, server_default="0"),
    Column("next_reminder_at", UtcDateTime),
    Column("message_lease_until", UtcDateTime),
    Column("message_refusals", Integer, nullable=False, server_default="0"),
    Column("resolution_outcome", Text),
    Column("resolution_summary", Text),
    Column("resolution_amount_usd", Float),
    Column("resolution_reply", Text),
    Column("resolution_notes", Text),
    check_in("urgency", URGENCIES),
    check_in("state", ESCALATION_STATES),
    partial_index("escalations_open_due_idx", "due_at", where="state = 'open'"),
    partial_index(
        "escalations_unposted_idx",
        "created_at",
        where="message_channel is null and state in ('open', 'claimed')",
    ),
)
TABLE = escalations_table.name
RESOLUTION_COLUMNS = (
    "resolution_outcome",
    "resolution_summary",
    "resolution_amount_usd",
    "resolution_reply",
    "resolution_notes",
)


def escalation_row(escalation: Escalation) -> Row:
    message = escalation.message
    return {
        "id": escalation.id,
        "draft_id": escalation.draft_id,
        "conversation_id": escalation.conversation_id,
        "type": escalation.type.value,
        "urgency": escalation.urgency.value,
        "notes": escalation.notes,
        "escalated_by": escalation.escalated_by,
        "created_at": codec.utc(escalation.created_at),
        "due_at": codec.utc(escalation.due_at),
        "state": escalation.state.value,
        "message_channel": message.channel if message else None,
        "message_ts": message.ts if message else None,
        "claimed_by": escalation.claimed_by,
        "claimed_at": codec.opt_utc(escalation.claimed_at),
        "resolved_by": escalation.resolved_by,
        "resolved_at": codec.opt_utc(escalation.resolved_at),
        "reminders_sent": escalation.reminders_sent,
        "next_reminder_at": codec.opt_utc(escalation.next_reminder_at),
        **resolution_columns(escalation.resolution),
    }


def escalation_from_row(row: Mapping[str, Any]) -> Escalation:
    conversation_id = row["conversation_id"]
    return Escalation(
        id=row["id"],
        draft_id=row["draft_id"],
        conversation_id=None if conversation_id is None else int(conversation_id),
        type=EscalationType(row["type"]),
        urgency=Urgency(row["urgency"]),
        notes=row["notes"],
        escalated_by=row["escalated_by"],
        created_at=codec.required_ts(row["created_at"]),
        due_at=codec.required_ts(row["due_at"]),
        state=EscalationState(row["state"]),
        message=posts.slack_ref(row, "message"),
        claimed_by=row["claimed_by"],
        claimed_at=codec.parse_ts(row["claimed_at"]),
        resolved_by=row["resolved_by"],
        resolved_at=codec.parse_ts(row["resolved_at"]),
        reminders_sent=int(row["reminders_sent"]),
        next_reminder_at=codec.parse_ts(row["next_reminder_at"]),
        resolution=_resolution_from_row(row),
    )


def resolution_columns(resolution: Resolution | None) -> Row:
    if resolution is None:
        return dict.fromkeys(RESOLUTION_COLUMNS)
    return {
        "resolution_outcome": resolution.outcome.value,
        "resolution_summary": resolution.summary,
        "resolution_amount_usd": resolution.amount_usd,
        "resolution_reply": resolution.customer_reply,
        "resolution_notes": resolution.notes,
    }


def _resolution_from_row(row: Mapping[str, Any]) -> Resolution | None:
    if row.get("resolution_outcome") is None:
        return None
    amount = row["resolution_amount_usd"]
    return Resolution(
        outcome=ResolutionOutcome(row["resolution_outcome"]),
        summary=row["resolution_summary"] or "",
        amount_usd=None if amount is None else float(amount),
        customer_reply=row["resolution_reply"],
        notes=row["resolution_notes"],
    )


class Escalations:
    """Escalations, their manager messages, claims and resolutions."""

    db: Database

    async def get_escalation(self, escalation_id: str) -> Escalation | None:
        return await self._escalation_where(eq("id", escalation_id))

    async def escalation_for_draft(self, draft_id: str) -> Escalation | None:
        return await self._escalation_where(eq("draft_id", draft_id))

    async def _escalation_where(self, *where: Any) -> Escalation | None:
        rows = await self.db.select(Query(TABLE, where, limit=1))
        return _escalation(rows[0] if rows else None)

    async def open_escalations(self, limit: int) -> list[Escalation]:
        """Escalations not resolved yet (open or claimed), the soonest due first."""
        query = Query(
            TABLE,
            (one_of("state", [EscalationState.OPEN.value, EscalationState.CLAIMED.value]),),
            order_by=("due_at", "id"),
            limit=limit,
        )
        return [escalation_from_row(row) for row in await self.db.select(query)]

    async def set_escalation_message(
        self,
        escalation_id: str,
        message: SlackRef,
        log: LogEntry,
        *,
        lease_until: datetime | None = None,
    ) -> Escalation | None:
        """Store where the manager message was posted; fenced by ``lease_until`` as
        `Drafts.set_card`."""
        key, values = eq("id", escalation_id), posts.posted_row("message", message)
        update = posts.record(TABLE, "message", key, values, lease_until)
        escalation = _escalation(await self.db.apply(Change(update, (log_insert(log),))))
        if escalation is None and await self.get_escalation(escalation_id) is None:
            raise NotFound(f"escalation {escalation_id!r}")
        return escalation

    async def refuse_message_post(
        self, escalation_id: str, *, lease_until: datetime, log: LogEntry
    ) -> int | None:
        """As `Drafts.refuse_card_post`, for the manager message."""
        update = posts.refuse(TABLE, "message", eq("id", escalation_id), lease_until)
        row = await self.db.apply(Change(update, (log_insert(log),)))
        return None if row is None else int(row["message_refusals"])

    async def unpark_messages(self) -> None:
        await self.db.apply(Change(posts.unpark(TABLE, "message")))

    async def claim_escalation_post(
        self, escalation_id: str, *, now: datetime, lease_until: datetime
    ) -> Escalation | None:
        """Take the lease to post an escalation's manager message; as
        `Drafts.claim_card_post`."""
        key = eq("id", escalation_id)
        update = posts.claim(TABLE, "message", key, now=now, lease_until=lease_until)
        return _escalation(await self.db.apply(Change(update)))

    async def unposted_escalations(self, now: datetime, limit: int = 100) -> list[str]:
        """Ids of open or claimed escalations with no message and no lease unexpired at
        ``now``, oldest first."""
        query = Query(
            TABLE,
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
        """Resolve an open or claimed escalation, with its log row and the Chatwoot messages
        it sends (queued in the outbox), in one transaction."""
        values = {
            "state": EscalationState.RESOLVED.value,
            "resolved_by": actor,
            "resolved_at": codec.utc(now),
            **resolution_columns(resolution),
        }
        where = (eq("id", escalation_id), one_of("state", UNRESOLVED))
        then = (log_insert(log), *(outbox_insert(m) for m in messages))
        update = Update(TABLE, where, values)
        return _escalation(await self.db.apply(Change(update, then)))

    async def _change(
        self, where: Where, values: Mapping[str, Any], log: LogEntry | None = None
    ) -> Escalation | None:
        then = (log_insert(log),) if log is not None else ()
        return _escalation(await self.db.apply(Change(Update(TABLE, where, values), then)))


def _escalation(row: Mapping[str, Any] | None) -> Escalation | None:
    return None if row is None else escalation_from_row(row)
