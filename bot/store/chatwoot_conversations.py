"""Conversations as people work on them in Chatwoot itself: the table, its rows, and the store,
on any `Database`. One row per conversation Chatwoot's webhooks told occ-bot about: who it is
assigned to (a person), so that its cards can say so, including cards posted later; and the
last time a person answered the customer or resolved the conversation there, so that a draft
stored after that, of messages older than that, is retired too (drafting takes time).

Chatwoot sends its webhooks from background jobs, so two deliveries can arrive out of order;
each change is kept only when it is newer than the one stored (Chatwoot's own time of the
change, when the webhook carries it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Table, Text

from bot.domain import Assignee, ConversationInChatwoot, LogEntry, RetiredBecause, Retirement
from bot.store import codec
from bot.store.codec import Row
from bot.store.columns import UtcDateTime, check_in, metadata
from bot.store.database import Database
from bot.store.decision_log import log_insert
from bot.store.drafts import RETIRED_BECAUSE
from bot.store.ops import Change, Cond, Insert, Query, Update, eq

conversations_table = Table(
    "chatwoot_conversations",
    metadata,
    Column("conversation_id", BigInteger, primary_key=True, autoincrement=False),
    # The person it is assigned to (null: nobody, an agent bot, or occ-bot's own agent), and
    # when that changed.
    Column("assignee_id", BigInteger),
    Column("assignee_name", Text),
    Column("assignee_changed_at", UtcDateTime),
    # The last time a person answered the customer, or resolved the conversation, there.
    Column("done_at", UtcDateTime),
    Column("done_because", Text),
    Column("done_by", Text),
    check_in("done_because", RETIRED_BECAUSE),
)
TABLE = conversations_table.name


def _assignee_columns(assignee: Assignee | None, at: datetime) -> Row:
    return {
        "assignee_id": assignee.agent_id if assignee else None,
        "assignee_name": assignee.name if assignee else None,
        "assignee_changed_at": codec.utc(at),
    }


def conversation_from_row(row: Mapping[str, Any]) -> ConversationInChatwoot:
    assignee = None
    if row["assignee_id"] is not None:
        assignee = Assignee(
            agent_id=int(row["assignee_id"]),
            name=row["assignee_name"],
            since=codec.required_ts(row["assignee_changed_at"]),
        )
    done = None
    if row["done_at"] is not None:
        done = Retirement(
            RetiredBecause(row["done_because"]), codec.required_ts(row["done_at"]), row["done_by"]
        )
    return ConversationInChatwoot(int(row["conversation_id"]), assignee, done)


class ChatwootConversations:
    """What people do about each conversation in Chatwoot (bot.flows.chatwoot_work)."""

    db: Database

    async def conversation_in_chatwoot(self, conversation_id: int) -> ConversationInChatwoot:
        """What is known of the conversation in Chatwoot (nothing yet: no assignee)."""
        query = Query(TABLE, (eq("conversation_id", conversation_id),), limit=1)
        rows = await self.db.select(query)
        return conversation_from_row(rows[0]) if rows else ConversationInChatwoot(conversation_id)

    async def record_assignee(
        self,
        conversation_id: int,
        assignee: Assignee | None,
        *,
        at: datetime,
        logs: Sequence[LogEntry] = (),
    ) -> bool:
        """Store who the conversation is assigned to since ``at`` (None: no person), with its
        log rows, unless a change as new or newer is stored already; False, writing
        nothing, then."""
        values = _assignee_columns(assignee, at)
        then = tuple(log_insert(log) for log in logs)
        first = Insert(TABLE, {"conversation_id": conversation_id, **values}, ignore_conflict=True)
        if await self.db.apply(Change(first, then)) is not None:
            return True
        newer = (
            eq("conversation_id", conversation_id),
            Cond("assignee_changed_at", "null_or_lt", codec.utc(at)),
        )
        return await self.db.apply(Change(Update(TABLE, newer, values), then)) is not None

    async def record_done_in_chatwoot(self, conversation_id: int, done: Retirement) -> bool:
        """Store that a person answered the customer, or resolved the conversation, in
        Chatwoot at ``done.at``, unless a later time is stored already (False, then)."""
        values = {
            "done_at": codec.utc(done.at),
            "done_because": done.because.value,
            "done_by": done.by,
        }
        first = Insert(TABLE, {"conversation_id": conversation_id, **values}, ignore_conflict=True)
        if await self.db.apply(Change(first)) is not None:
            return True
        newer = (
            eq("conversation_id", conversation_id),
            Cond("done_at", "null_or_lt", values["done_at"]),
        )
        return await self.db.apply(Change(Update(TABLE, newer, values))) is not None
