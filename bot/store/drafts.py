"""Drafts, their cards and their replies, on any `Database`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.domain import (
    Decision,
    DecisionKind,
    Draft,
    DraftState,
    Escalation,
    LogEntry,
    Reply,
    ReplyStatus,
    Scope,
    SlackRef,
)
from bot.store import codec, deliveries, posts
from bot.store.database import Database
from bot.store.decision_log import log_insert
from bot.store.errors import NotFound, StoreError
from bot.store.ops import (
    Change,
    Cond,
    Condition,
    Insert,
    Query,
    Update,
    eq,
    is_null,
    not_null,
    one_of,
)


def awaiting_decision() -> tuple[Cond, ...]:
    """A draft nobody has decided and no newer draft has replaced."""
    return (eq("state", DraftState.PENDING.value), is_null("superseded_by"))


def live() -> Cond:
    """A draft for a real customer, not a training card: the only kind the team's queue,
    its numbers, drafting and learning see."""
    return eq("scope", Scope.CX.value)


class Drafts:
    db: Database

    async def add_draft(self, draft: Draft, *logs: LogEntry) -> tuple[Draft, bool]:
        change = Change(
            Insert("drafts", codec.draft_row(draft), ignore_conflict=True),
            tuple(log_insert(log) for log in logs),
        )
        row = await self.db.apply(change)
        if row is not None:
            return codec.draft_from_row(row), True
        return await self._existing_draft(draft), False

    async def start_round(
        self, started: LogEntry, drafts: Sequence[Draft], *logs: LogEntry
    ) -> bool:
        """Take a round of drafts by writing its ``started`` row (whose id names the round),
        then store the drafts and their log rows, all in one transaction; False, writing
        nothing, when that row exists already (another start took the round)."""
        taken = Insert("decision_log", codec.log_row(started), ignore_conflict=True)
        inserts = (*(Insert("drafts", codec.draft_row(d)) for d in drafts), *map(log_insert, logs))
        return await self.db.apply(Change(taken, inserts)) is not None

    async def _existing_draft(self, draft: Draft) -> Draft:
        external_id = draft.input.external_id
        if external_id is not None:
            found = await self.draft_for_external_id(external_id)
            if found is not None:
                return found
        found = await self.get_draft(draft.id)
        if found is None or found.input.external_id != external_id:
            raise StoreError(f"draft id {draft.id!r} is already used by another draft")
        return found

    async def pending_draft_for_conversation(
        self, conversation_id: int, *, since: datetime
    ) -> Draft | None:
        return await self._draft_where(
            eq("conversation_id", conversation_id),
            *awaiting_decision(),
            live(),
            Cond("received_at", "gte", codec.utc(since)),
        )

    async def get_draft(self, draft_id: str) -> Draft | None:
        return await self._draft_where(eq("id", draft_id))

    async def draft_for_external_id(self, external_id: str) -> Draft | None:
        return await self._draft_where(eq("external_id", external_id))

    async def _draft_where(self, *where: Condition) -> Draft | None:
        rows = await self.db.select(Query("drafts", where, limit=1))
        return codec.draft_from_row(rows[0]) if rows else None

    async def decided_between(
        self, since: datetime, until: datetime, kinds: Sequence[DecisionKind], limit: int
    ) -> list[Draft]:
        """Drafts decided (one of ``kinds``) from ``since`` up to ``until``, oldest first."""
        where = (
            Cond("decided_at", "gte", codec.utc(since)),
            Cond("decided_at", "lt", codec.utc(until)),
            one_of("decision_kind", [kind.value for kind in kinds]),
            live(),
        )
        query = Query("drafts", where, order_by=("decided_at", "id"), limit=limit)
        return [codec.draft_from_row(row) for row in await self.db.select(query)]

    async def waiting_drafts(self, limit: int) -> list[Draft]:
        """The drafts awaiting a decision, oldest first."""
        where = (*awaiting_decision(), live())
        query = Query("drafts", where, order_by=("received_at", "id"), limit=limit)
        return [codec.draft_from_row(row) for row in await self.db.select(query)]

    async def decided_drafts(self, limit: int) -> list[Draft]:
        """The most recently decided drafts, newest first."""
        query = Query(
            "drafts",
            (not_null("decided_at"), live()),
            order_by=("decided_at",),
            descending=True,
            limit=limit,
        )
        return [codec.draft_from_row(row) for row in await self.db.select(query)]

    async def sent_drafts(self) -> list[Draft]:
        """Every draft an operator approved (as drafted or edited), oldest decision first."""
        sent = (
            one_of("decision_kind", [DecisionKind.APPROVE.value, DecisionKind.EDIT.value]),
            live(),
        )
        query = Query("drafts", sent, order_by=("decided_at", "id"))
        return [codec.draft_from_row(row) for row in await self.db.select(query)]

    async def training_cards(self, trainee: str) -> list[Draft]:
        """The trainee's training cards, oldest first."""
        query = Query("drafts", (eq("trainee", trainee),), order_by=("received_at", "id"))
        return [codec.draft_from_row(row) for row in await self.db.select(query)]

    async def set_card(
        self,
        draft_id: str,
        card: SlackRef,
        posted_at: datetime,
        log: LogEntry,
        *,
        lease_until: datetime | None = None,
    ) -> Draft | None:
        values = codec.card_row(card, posted_at)
        update = posts.record("drafts", "card", eq("id", draft_id), values, lease_until)
        row = await self.db.apply(Change(update, (log_insert(log),)))
        if row is None and await self.get_draft(draft_id) is None:
            raise NotFound(f"draft {draft_id!r}")
        return _draft(row)

    async def refuse_card_post(
        self, draft_id: str, *, lease_until: datetime, log: LogEntry
    ) -> int | None:
        update = posts.refuse("drafts", "card", eq("id", draft_id), lease_until)
        row = await self.db.apply(Change(update, (log_insert(log),)))
        return None if row is None else int(row["card_refusals"])

    async def unpark_cards(self, scope: Scope) -> None:
        update = posts.unpark("drafts", "card")
        update = replace(update, where=(*update.where, eq("scope", scope.value)))
        await self.db.apply(Change(update))

    async def claim_card_post(
        self, draft_id: str, *, now: datetime, lease_until: datetime
    ) -> Draft | None:
        update = posts.claim("drafts", "card", eq("id", draft_id), now=now, lease_until=lease_until)
        # A draft decided or superseded before its card went out gets no card: a newer one has
        # its own (the card would offer buttons that can no longer work).
        update = replace(update, where=(*update.where, *awaiting_decision()))
        return _draft(await self.db.apply(Change(update)))

    async def unposted_drafts(self, now: datetime, limit: int = 100) -> list[str]:
        query = Query(
            "drafts",
            (*awaiting_decision(), *posts.unposted("card", now)),
            order_by=("received_at", "id"),
            limit=limit,
            columns=("id",),
        )
        return [row["id"] for row in await self.db.select(query)]

    async def decide(
        self,
        draft_id: str,
        decision: Decision,
        *,
        reply_status: ReplyStatus,
        log: LogEntry,
        escalation: Escalation | None = None,
        reply_lease_until: datetime | None = None,
    ) -> Draft | None:
        values = codec.decision_row(
            decision, reply_status, escalation.id if escalation else None, reply_lease_until
        )
        update = Update("drafts", (eq("id", draft_id), *awaiting_decision()), values)
        then = (Insert("escalations", codec.escalation_row(escalation)),) if escalation else ()
        return _draft(await self.db.apply(Change(update, (*then, log_insert(log)))))

    async def claim_reply(
        self, draft_id: str, *, now: datetime, lease_until: datetime, force: bool = False
    ) -> Draft | None:
        update = deliveries.claim(
            "drafts", "reply", eq("id", draft_id), now=now, lease_until=lease_until, force=force
        )
        return _draft(await self.db.apply(Change(update)))

    async def finish_reply(self, draft_id: str, reply: Reply, log: LogEntry) -> Draft | None:
        update = deliveries.finish("drafts", "reply", eq("id", draft_id), reply)
        row = await self.db.apply(Change(update, (log_insert(log),)))
        if row is None:
            if await self.get_draft(draft_id) is None:
                raise NotFound(f"draft {draft_id!r}")
            return None
        return codec.draft_from_row(row)

    async def draft_for_reply(self, message_id: str) -> Draft | None:
        rows = await self.db.select(
            Query("drafts", (eq("reply_message_id", message_id),), order_by=("id",), limit=1)
        )
        return _draft(rows[0] if rows else None)

    async def reply_undelivered(
        self, draft_id: str, message_id: str, error: str, log: LogEntry
    ) -> Draft | None:
        update = Update(
            "drafts",
            (
                eq("id", draft_id),
                eq("reply_status", ReplyStatus.SENT.value),
                eq("reply_message_id", message_id),
            ),
            {"reply_status": ReplyStatus.GAVE_UP.value, "reply_last_error": error},
        )
        return _draft(await self.db.apply(Change(update, (log_insert(log),))))

    async def due_replies(self, now: datetime, limit: int = 100) -> list[str]:
        due = deliveries.due("reply", now)
        query = Query("drafts", due, order_by=("received_at", "id"), limit=limit, columns=("id",))
        return [row["id"] for row in await self.db.select(query)]


def _draft(row: Mapping[str, Any] | None) -> Draft | None:
    return None if row is None else codec.draft_from_row(row)
