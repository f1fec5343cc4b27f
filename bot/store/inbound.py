"""Customers' messages waiting to be drafted, and the per-conversation drafting lease: the
tables, their rows, and the store, on any `Database`.

Drafting a conversation: take its lease (`claim_drafting`), read what is unanswered, draft,
then store the draft fenced by that lease (`store_conversation_draft`), supersede older
pending drafts and hand their messages to the new one (`assign_messages`). Each step is
idempotent, so a replica that dies half-way leaves work the next lease-holder finishes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, Table, Text, false

from bot.domain import Draft, InboundMessage, InboundState, LogEntry
from bot.store import codec
from bot.store.codec import Row
from bot.store.columns import UtcDateTime, check_in, metadata, partial_index
from bot.store.database import Database
from bot.store.decision_log import log_insert
from bot.store.drafts import awaiting_decision, draft_from_row, draft_row, live
from bot.store.ops import (
    AnyOf,
    Change,
    Insert,
    Query,
    Update,
    at_or_before,
    before,
    eq,
    free_lease,
    is_null,
    one_of,
)

INBOUND_STATES = ("waiting", "drafted", "failed")

# Customers' Chatwoot messages, stored (once per message) before the webhook answers and
# drafted afterwards. `draft_id` is the draft that answers the message: a newer draft of the
# conversation takes over the messages of the one it supersedes.
messages_table = Table(
    "inbound_messages",
    metadata,
    Column("id", Text, primary_key=True),
    Column("conversation_id", BigInteger, nullable=False),
    Column("message_id", BigInteger, nullable=False),
    Column("content", Text, nullable=False),
    Column("customer_name", Text),
    Column("customer_email", Text),
    Column("customer_email_verified", Boolean, nullable=False, server_default=false()),
    Column("received_at", UtcDateTime, nullable=False),
    Column("state", Text, nullable=False, server_default="waiting"),
    Column("draft_id", Text),
    Column("error", Text),
    check_in("state", INBOUND_STATES),
    Index("inbound_messages_conversation_idx", "conversation_id", "message_id"),
    partial_index("inbound_messages_waiting_idx", "received_at", where="state = 'waiting'"),
)

# One drafter per conversation at a time: the lease orders its drafts, so a newer draft
# always answers every message an older one did. Failed tries back off, then give up.
leases_table = Table(
    "drafting_leases",
    metadata,
    Column("conversation_id", BigInteger, primary_key=True, autoincrement=False),
    Column("lease_until", UtcDateTime),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("retry_at", UtcDateTime),
    Column("last_error", Text),
)

MESSAGES = messages_table.name
LEASES = leases_table.name


def inbound_row(message: InboundMessage) -> Row:
    return {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "message_id": message.message_id,
        "content": message.content,
        "customer_name": message.customer_name,
        "customer_email": message.customer_email,
        "customer_email_verified": message.email_verified,
        "received_at": codec.utc(message.received_at),
        "state": message.state.value,
        "draft_id": message.draft_id,
        "error": message.error,
    }


def inbound_from_row(row: Mapping[str, Any]) -> InboundMessage:
    return InboundMessage(
        id=row["id"],
        conversation_id=int(row["conversation_id"]),
        message_id=int(row["message_id"]),
        content=row["content"],
        customer_name=row["customer_name"],
        customer_email=row["customer_email"],
        email_verified=bool(row["customer_email_verified"]),
        received_at=codec.required_ts(row["received_at"]),
        state=InboundState(row["state"]),
        draft_id=row["draft_id"],
        error=row["error"],
    )


class InboundMessages:
    """Customers' messages waiting to be drafted, under a per-conversation drafting lease."""

    db: Database

    async def add_inbound(self, message: InboundMessage) -> bool:
        """Store a customer's message; False (writing nothing) if it is already stored."""
        insert = Insert(MESSAGES, inbound_row(message), ignore_conflict=True)
        return await self.db.apply(Change(insert)) is not None

    async def inbound_messages(self, conversation_id: int) -> list[InboundMessage]:
        query = Query(MESSAGES, (eq("conversation_id", conversation_id),), order_by=("message_id",))
        return [inbound_from_row(row) for row in await self.db.select(query)]

    async def conversations_waiting(self, received_before: datetime, limit: int = 100) -> list[int]:
        """Conversations with a message stored before then and still waiting to be drafted."""
        query = Query(
            MESSAGES,
            (
                eq("state", InboundState.WAITING.value),
                before("received_at", codec.utc(received_before)),
            ),
            order_by=("received_at",),
            limit=limit,
            columns=("conversation_id",),
        )
        return list(
            dict.fromkeys(int(row["conversation_id"]) for row in await self.db.select(query))
        )

    async def claim_drafting(
        self, conversation_id: int, *, now: datetime, lease_until: datetime
    ) -> int | None:
        """Take the conversation's drafting lease: the failed tries before this one, or None
        while another drafter holds it or a failed try waits for its retry."""
        await self.db.apply(
            Change(Insert(LEASES, {"conversation_id": conversation_id}, ignore_conflict=True))
        )
        when = codec.utc(now)
        due = AnyOf(((is_null("retry_at"),), (at_or_before("retry_at", when),)))
        update = Update(
            LEASES,
            (eq("conversation_id", conversation_id), free_lease("lease_until", when), due),
            {"lease_until": codec.utc(lease_until)},
        )
        row = await self.db.apply(Change(update))
        return None if row is None else int(row["attempts"])

    async def unanswered_messages(
        self, conversation_id: int, pending_drafts: Sequence[str]
    ) -> list[InboundMessage]:
        """The conversation's messages no decided draft answered: never drafted (waiting or
        failed), or answered only by these still-pending drafts. Oldest first."""
        answered_by = AnyOf(((is_null("draft_id"),), (one_of("draft_id", list(pending_drafts)),)))
        query = Query(
            MESSAGES,
            (eq("conversation_id", conversation_id), answered_by),
            order_by=("message_id",),
        )
        return [inbound_from_row(row) for row in await self.db.select(query)]

    async def drafts_awaiting_decision(self, conversation_id: int) -> list[Draft]:
        query = Query(
            "drafts",
            (eq("conversation_id", conversation_id), *awaiting_decision(), live()),
            order_by=("received_at", "id"),
        )
        return [draft_from_row(row) for row in await self.db.select(query)]

    async def store_conversation_draft(
        self,
        draft: Draft,
        logs: Sequence[LogEntry],
        *,
        lease_until: datetime,
        waiting_since: datetime | None = None,
    ) -> bool:
        """Store the draft with its log rows, only while this drafter still holds the lease
        (a try that outlived its lease writes nothing). A success clears past failures.
        ``waiting_since``: when the oldest message it answers arrived (its customer's wait)."""
        held = (
            eq("conversation_id", draft.input.conversation_id),
            eq("lease_until", codec.utc(lease_until)),
        )
        reset = {"attempts": 0, "retry_at": None, "last_error": None}
        inserts = (
            Insert("drafts", draft_row(draft, waiting_since)),
            *(log_insert(log) for log in logs),
        )
        return await self.db.apply(Change(Update(LEASES, held, reset), inserts)) is not None

    async def supersede(
        self, draft_id: str, *, by: str, at: datetime, log: LogEntry
    ) -> Draft | None:
        """Mark a draft replaced by a newer one; None if it was decided (or replaced) first."""
        update = Update(
            "drafts",
            (eq("id", draft_id), *awaiting_decision()),
            {"superseded_by": by, "superseded_at": codec.utc(at)},
        )
        row = await self.db.apply(Change(update, (log_insert(log),)))
        return None if row is None else draft_from_row(row)

    async def assign_messages(self, message_ids: Sequence[str], draft_id: str) -> None:
        """These messages are answered by this draft now."""
        values = {"state": InboundState.DRAFTED.value, "draft_id": draft_id, "error": None}
        await self.db.apply(Change(Update(MESSAGES, (one_of("id", list(message_ids)),), values)))

    async def release_drafting(self, conversation_id: int, *, lease_until: datetime) -> None:
        held = (eq("conversation_id", conversation_id), eq("lease_until", codec.utc(lease_until)))
        await self.db.apply(Change(Update(LEASES, held, {"lease_until": None})))

    async def drafting_failed(
        self, conversation_id: int, *, lease_until: datetime, error: str, retry_at: datetime
    ) -> int | None:
        """Count a failed try and release the lease until ``retry_at``: the failures in a row
        so far, or None if the lease was no longer this drafter's."""
        held = (eq("conversation_id", conversation_id), eq("lease_until", codec.utc(lease_until)))
        values = {"lease_until": None, "retry_at": codec.utc(retry_at), "last_error": error[:500]}
        row = await self.db.apply(Change(Update(LEASES, held, values, increments={"attempts": 1})))
        return None if row is None else int(row["attempts"])

    async def give_up_drafting(
        self, conversation_id: int, message_ids: Sequence[str], *, error: str, log: LogEntry
    ) -> bool:
        """Mark the messages failed, then start the conversation's count afresh with the log
        row that says so; False (and no row) if none of them was still waiting."""
        waiting = (one_of("id", list(message_ids)), eq("state", InboundState.WAITING.value))
        failed = {"state": InboundState.FAILED.value, "error": error[:500]}
        # Two changes: a log row in the same statement as a many-row update would be written
        # once per row on PostgreSQL.
        if await self.db.apply(Change(Update(MESSAGES, waiting, failed))) is None:
            return False
        reset = Update(
            LEASES, (eq("conversation_id", conversation_id),), {"attempts": 0, "retry_at": None}
        )
        await self.db.apply(Change(reset, (log_insert(log),)))
        return True
