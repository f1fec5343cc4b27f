"""The Chatwoot outbox, on any `Database`: messages queued with the change they belong to
(`outbox_insert`), then delivered once each under a lease (`bot.store.deliveries`)."""

from __future__ import annotations

from datetime import datetime

from bot.domain import LogEntry, OutboxMessage, Reply
from bot.store import codec, deliveries
from bot.store.database import Database
from bot.store.decision_log import log_insert
from bot.store.ops import Change, Insert, Query, eq

TABLE = "chatwoot_outbox"


def outbox_insert(message: OutboxMessage) -> Insert:
    """The outbox row that goes with a change (written in its transaction)."""
    return Insert(TABLE, codec.outbox_row(message))


class Outbox:
    db: Database

    async def get_outbox_message(self, message_id: str) -> OutboxMessage | None:
        rows = await self.db.select(Query(TABLE, (eq("id", message_id),), limit=1))
        return codec.outbox_from_row(rows[0]) if rows else None

    async def outbox_for(self, subject_id: str) -> list[OutboxMessage]:
        query = Query(TABLE, (eq("subject_id", subject_id),), order_by=("created_at", "id"))
        return [codec.outbox_from_row(row) for row in await self.db.select(query)]

    async def queue_outbox_message(self, message: OutboxMessage) -> OutboxMessage | None:
        """Queue a message on its own, once: None if one with its id is queued already."""
        row = await self.db.apply(
            Change(Insert(TABLE, codec.outbox_row(message), ignore_conflict=True))
        )
        return None if row is None else message

    async def claim_outbox_message(
        self, message_id: str, *, now: datetime, lease_until: datetime, force: bool = False
    ) -> OutboxMessage | None:
        update = deliveries.claim(
            TABLE, "delivery", eq("id", message_id), now=now, lease_until=lease_until, force=force
        )
        row = await self.db.apply(Change(update))
        return None if row is None else codec.outbox_from_row(row)

    async def finish_outbox_message(
        self, message_id: str, delivery: Reply, log: LogEntry
    ) -> OutboxMessage | None:
        update = deliveries.finish(TABLE, "delivery", eq("id", message_id), delivery)
        row = await self.db.apply(Change(update, (log_insert(log),)))
        return None if row is None else codec.outbox_from_row(row)

    async def due_outbox_messages(self, now: datetime, limit: int = 100) -> list[str]:
        query = Query(
            TABLE,
            deliveries.due("delivery", now),
            order_by=("created_at", "id"),
            limit=limit,
            columns=("id",),
        )
        return [row["id"] for row in await self.db.select(query)]
