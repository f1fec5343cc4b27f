"""The Chatwoot outbox, on any `Database`: every message occ-bot sends to Chatwoot (a draft's
reply, an escalation's note, a manager's reply and resolution note, Sales Pulse's notes),
queued with the change it belongs to (`outbox_insert`), then delivered once each under a
lease (`bot.store.deliveries`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Table, Text

from bot.domain import Action, Delivery, DeliveryStatus, LogEntry, MessageKind, OutboxMessage
from bot.store import codec, deliveries
from bot.store.codec import Row
from bot.store.columns import UtcDateTime, check_in, metadata, partial_index
from bot.store.database import Database
from bot.store.decision_log import log_insert
from bot.store.ops import Change, Cond, Insert, Query, Update, eq

MESSAGE_KINDS = ("reply", "note")
CORRECTIONS = Action.CORRECTION_SENT.value  # the action a reply's corrections are queued under

# Each row is delivered once, with status, lease and backoff columns (bot.store.deliveries),
# and written in the transaction of the change it belongs to.
outbox_table = Table(
    "chatwoot_outbox",
    metadata,
    Column("id", Text, primary_key=True),
    Column("subject_id", Text, nullable=False),
    Column("conversation_id", BigInteger, nullable=False),
    Column("kind", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    *deliveries.columns("delivery"),
    check_in("kind", MESSAGE_KINDS),
    check_in("delivery_status", deliveries.STATUSES),
    Index("chatwoot_outbox_subject_idx", "subject_id", "created_at"),
    # Chatwoot's webhooks ask whether a message is one of ours: by its Chatwoot id, or (before
    # that is recorded) by the conversation's recent replies (bot.flows.chatwoot_work).
    Index("chatwoot_outbox_conversation_idx", "conversation_id", "created_at"),
    partial_index(
        "chatwoot_outbox_message_idx",
        "delivery_message_id",
        where="delivery_message_id is not null",
    ),
    partial_index("chatwoot_outbox_due_idx", "created_at", where=deliveries.due_sql("delivery")),
)
TABLE = outbox_table.name


def outbox_row(message: OutboxMessage) -> Row:
    return {
        "id": message.id,
        "subject_id": message.subject_id,
        "conversation_id": message.conversation_id,
        "kind": message.kind.value,
        "content": message.content,
        "action": message.action,
        "actor": message.actor,
        "created_at": codec.utc(message.created_at),
        **deliveries.delivery_row("delivery", message.delivery),
    }


def outbox_from_row(row: Mapping[str, Any]) -> OutboxMessage:
    return OutboxMessage(
        id=row["id"],
        subject_id=row["subject_id"],
        conversation_id=int(row["conversation_id"]),
        kind=MessageKind(row["kind"]),
        content=row["content"],
        action=row["action"],
        actor=row["actor"],
        created_at=codec.required_ts(row["created_at"]),
        delivery=deliveries.delivery_from_row("delivery", row),
    )


def reply_id(draft_id: str) -> str:
    """The id of a draft's reply in the outbox: one per draft, whoever approves it."""
    return f"reply_{draft_id}"


def correction_id(draft_id: str, number: int) -> str:
    """The id of a sent reply's ``number``-th correction (from 1) in the outbox: the modal
    that writes it carries the number, so a submission sent twice queues it once."""
    return f"correction_{draft_id}_{number}"


def note_id(escalation_id: str) -> str:
    """The id of an escalation's private note in the outbox: one per escalation."""
    return f"note_{escalation_id}"


def outbox_insert(message: OutboxMessage) -> Insert:
    """The outbox row that goes with a change (written in its transaction)."""
    return Insert(TABLE, outbox_row(message))


class Outbox:
    """Messages for Chatwoot conversations, delivered once each (bot.flows.outbox)."""

    db: Database

    async def get_outbox_message(self, message_id: str) -> OutboxMessage | None:
        rows = await self.db.select(Query(TABLE, (eq("id", message_id),), limit=1))
        return outbox_from_row(rows[0]) if rows else None

    async def outbox_for(self, subject_id: str) -> list[OutboxMessage]:
        query = Query(TABLE, (eq("subject_id", subject_id),), order_by=("created_at", "id"))
        return [outbox_from_row(row) for row in await self.db.select(query)]

    async def corrections_of(self, draft_id: str) -> list[OutboxMessage]:
        """The corrections queued after a draft's reply, oldest first."""
        where = (eq("subject_id", draft_id), eq("action", CORRECTIONS))
        query = Query(TABLE, where, order_by=("created_at", "id"))
        return [outbox_from_row(row) for row in await self.db.select(query)]

    async def queue_outbox_message(
        self, message: OutboxMessage, *logs: LogEntry
    ) -> OutboxMessage | None:
        """Queue a message, with its log rows, once per id; None, writing nothing, if it was
        queued already."""
        insert = Insert(TABLE, outbox_row(message), ignore_conflict=True)
        row = await self.db.apply(Change(insert, tuple(log_insert(log) for log in logs)))
        return None if row is None else message

    async def claim_outbox_message(
        self, message_id: str, *, now: datetime, lease_until: datetime, force: bool = False
    ) -> OutboxMessage | None:
        """Take a message's delivery (status SENDING, attempts + 1, a lease) if it is due, or
        with ``force`` also when failed before its backoff is over or given up (Retry now);
        None if not claimable now."""
        update = deliveries.claim(
            TABLE, "delivery", eq("id", message_id), now=now, lease_until=lease_until, force=force
        )
        row = await self.db.apply(Change(update))
        return None if row is None else outbox_from_row(row)

    async def finish_outbox_message(
        self, message_id: str, delivery: Delivery, log: LogEntry
    ) -> OutboxMessage | None:
        """Record an attempt's outcome, only while that attempt still holds the message
        (status SENDING and ``delivery.attempts`` unchanged); None, writing nothing, if
        another worker has taken it since."""
        update = deliveries.finish(TABLE, "delivery", eq("id", message_id), delivery)
        row = await self.db.apply(Change(update, (log_insert(log),)))
        return None if row is None else outbox_from_row(row)

    async def replies_in_conversation(
        self, conversation_id: int, since: datetime
    ) -> list[OutboxMessage]:
        """The replies queued for a conversation since ``since``, oldest first."""
        where = (
            eq("conversation_id", conversation_id),
            eq("kind", MessageKind.REPLY.value),
            Cond("created_at", "gte", codec.utc(since)),
        )
        query = Query(TABLE, where, order_by=("created_at", "id"))
        return [outbox_from_row(row) for row in await self.db.select(query)]

    async def outbox_message_sent_as(self, chatwoot_message_id: str) -> OutboxMessage | None:
        """The message Chatwoot stored as ``chatwoot_message_id``, if it is one of ours."""
        query = Query(TABLE, (eq("delivery_message_id", chatwoot_message_id),), limit=1)
        rows = await self.db.select(query)
        return outbox_from_row(rows[0]) if rows else None

    async def outbox_message_undelivered(
        self, message_id: str, chatwoot_message_id: str, error: str, log: LogEntry
    ) -> OutboxMessage | None:
        """A sent message that its channel did not deliver after all: GAVE_UP with ``error``
        (only Retry sends it again), with its log row; None, writing nothing, unless it is
        SENT as ``chatwoot_message_id``."""
        update = Update(
            TABLE,
            (
                eq("id", message_id),
                eq("delivery_status", DeliveryStatus.SENT.value),
                eq("delivery_message_id", chatwoot_message_id),
            ),
            {"delivery_status": DeliveryStatus.GAVE_UP.value, "delivery_last_error": error},
        )
        row = await self.db.apply(Change(update, (log_insert(log),)))
        return None if row is None else outbox_from_row(row)

    async def due_outbox_messages(self, now: datetime, limit: int = 100) -> list[str]:
        query = Query(
            TABLE,
            deliveries.due("delivery", now),
            order_by=("created_at", "id"),
            limit=limit,
            columns=("id",),
        )
        return [row["id"] for row in await self.db.select(query)]
