"""Customers waiting on the team (the CX tile: `/occ cx`, the Home tab), on any `Database`:
counted and ordered in SQL over the view of migration 0022, never by loading the queue.

A draft's ``waiting_since`` column says when its customer began waiting (`bot.store.drafts`);
the view ``occ_cx_waits`` holds one row per conversation with a draft awaiting a decision:
its longest wait. A question is four small reads: the count and the longest waits from the
view, then those conversations' waiting drafts, then their customers' latest messages (by
conversation, which is indexed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Table

from bot.domain import CxWait, CxWaits, Draft
from bot.store import codec
from bot.store.columns import UtcDateTime, views
from bot.store.database import Database
from bot.store.drafts import TABLE as DRAFTS
from bot.store.drafts import awaiting_decision, draft_from_row, live
from bot.store.inbound import MESSAGES
from bot.store.ops import Query, at_or_before, one_of

cx_waits_view = Table(
    "occ_cx_waits",  # conversations waiting on a draft nobody has decided, one row each
    views,
    Column("conversation_id", BigInteger),
    Column("waiting_since", UtcDateTime),  # the longest wait of its waiting drafts
)
VIEW = cx_waits_view.name


class CustomerWaits:
    """The conversations whose customer waits on a draft nobody has decided."""

    db: Database

    async def cx_waits(self, waiting_since: datetime, limit: int) -> CxWaits:
        """The conversations whose customer has waited since ``waiting_since`` or earlier on a
        draft nobody has decided (the team's drafts, not training cards): how many, and the
        ``limit`` longest waits, longest first, each with the draft waiting longest and the
        customer's latest message the bot holds."""
        past = (at_or_before("waiting_since", codec.utc(waiting_since)),)
        order = ("waiting_since", "conversation_id")
        counted, rows = await asyncio.gather(
            self.db.counts({"total": (VIEW, past)}),
            self.db.select(Query(VIEW, past, order_by=order, limit=limit)),
        )
        if not rows:
            return CxWaits(total=counted["total"], longest=())
        conversations = [int(row["conversation_id"]) for row in rows]
        query = Query(
            DRAFTS,
            (one_of("conversation_id", conversations), *awaiting_decision(), live()),
            order_by=("waiting_since", "id"),
        )
        by_conversation: dict[int, list[Mapping[str, Any]]] = {}
        for row in await self.db.select(query):
            by_conversation.setdefault(int(row["conversation_id"]), []).append(row)
        newest = {
            conversation: draft_from_row(max(drafts, key=_arrival))
            for conversation, drafts in by_conversation.items()
        }
        messages = await self._latest_messages(list(newest.values()))
        longest = []
        for row in rows:
            conversation = int(row["conversation_id"])
            drafts = by_conversation.get(conversation)
            if not drafts:  # decided between the two reads
                continue
            longest.append(
                CxWait(
                    conversation_id=conversation,
                    waiting_since=codec.required_ts(drafts[0]["waiting_since"]),
                    draft=draft_from_row(drafts[0]),
                    cards=len(drafts),
                    last_message=_last_message(newest[conversation], messages),
                )
            )
        return CxWaits(total=counted["total"], longest=tuple(longest))

    async def _latest_messages(self, drafts: Sequence[Draft]) -> dict[str, str]:
        """Each draft's newest Chatwoot message, by draft id (drafts made from the webhook's
        messages; others have none)."""
        conversations = [draft.input.conversation_id for draft in drafts]
        query = Query(
            MESSAGES,
            (
                one_of("conversation_id", conversations),
                one_of("draft_id", [draft.id for draft in drafts]),
            ),
            order_by=("message_id",),
            columns=("draft_id", "content"),
        )
        return {row["draft_id"]: row["content"] for row in await self.db.select(query)}


def _arrival(row: Mapping[str, Any]) -> tuple[datetime, str]:
    return codec.required_ts(row["received_at"]), row["id"]


def _last_message(draft: Draft, messages: Mapping[str, str]) -> str:
    """The customer's latest message that the draft answers."""
    if draft.id in messages:
        return messages[draft.id]
    breach = draft.input.breach
    said = [line.text for line in breach.lines if line.from_customer] if breach else []
    return said[-1] if said else draft.input.customer_message
