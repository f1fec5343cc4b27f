"""Drafts, their cards and their decisions: the table, its rows, and the store. An approved
draft's reply is a message in the Chatwoot outbox (`bot.store.outbox`), read with the draft.

A draft's input lives in the ``input`` JSON column (`bot.store.draft_input`), except
``conversation_id`` and ``external_id``, which are real columns because they are queried.
The post-lease columns (``card_lease_until``) are store bookkeeping with no domain field:
decoding ignores them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer, Table, Text, text

from bot.domain import (
    Decision,
    DecisionKind,
    Delivery,
    Draft,
    DraftState,
    Escalation,
    LogEntry,
    OutboxMessage,
    RejectReason,
    RetiredBecause,
    Retirement,
    RiskFlag,
    RiskKind,
    Scope,
    SlackRef,
    TrainingCard,
)
from bot.store import codec, deliveries, outbox, posts
from bot.store.codec import Row
from bot.store.columns import Json, UtcDateTime, check_in, metadata, partial_index
from bot.store.database import Database
from bot.store.decision_log import log_insert, log_row
from bot.store.draft_input import input_from, input_json
from bot.store.errors import NotFound, StoreError
from bot.store.escalations import escalation_row
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
from bot.store.outbox import outbox_insert

DRAFT_STATES = ("pending", "approved", "rejected", "escalated")
SENDS_A_REPLY = ("approve", "edit")  # the decisions whose draft has a reply in the outbox
REPLIES_READ_AT_ONCE = 100  # keeps a PostgREST `in.(…)` filter well inside a URL
DECISION_KINDS = ("approve", "edit", "reject", "escalate")
RETIRED_BECAUSE = ("answered", "resolved")
DECISION_COLUMNS = ("decision_kind", "decided_by", "decided_at", "final_text")
DECISION_COLUMNS += ("reject_reason", "decision_notes", "escalation_id")
# `awaiting_decision()` and `live()` in SQL: the drafts the CX tile's index holds.
AWAITING_SQL = "state = 'pending' and superseded_by is null and retired_at is null and scope = 'cx'"

drafts_table = Table(
    "drafts",
    metadata,
    Column("id", Text, primary_key=True),
    Column("external_id", Text, unique=True),
    Column("conversation_id", BigInteger, nullable=False),
    Column("input", Json, nullable=False),
    Column("flags", Json, nullable=False, server_default=text("'[]'")),
    Column("received_at", UtcDateTime, nullable=False),
    Column("state", Text, nullable=False, server_default="pending"),
    Column("card_channel", Text),
    Column("card_ts", Text),
    Column("posted_at", UtcDateTime),
    Column("decision_kind", Text),
    Column("decided_by", Text),
    Column("decided_at", UtcDateTime),
    Column("final_text", Text),
    Column("reject_reason", Text),
    Column("decision_notes", Text),
    Column("escalation_id", Text),
    Column("card_lease_until", UtcDateTime),
    Column("card_refusals", Integer, nullable=False, server_default="0"),
    # A newer customer message's draft replaced this one before anyone decided it. The state
    # stays 'pending' (SQLite databases from the first release cannot widen the state check),
    # so "awaiting a decision" is: pending and not superseded.
    Column("superseded_by", Text),
    Column("superseded_at", UtcDateTime),
    # A training card (`/occ training start`): one scenario of the packet for one trainee.
    # Only 'cx' drafts are the team's queue; nothing of a 'training' one reaches a customer.
    Column("scope", Text, nullable=False, server_default="cx"),
    Column("trainee", Text),
    Column("training_round", Text),
    Column("scenario", Text),
    # Done in Chatwoot before anyone decided it (state stays 'pending', as for superseded).
    Column("retired_at", UtcDateTime),
    Column("retired_because", Text),
    Column("retired_by", Text),
    # When its customer began waiting: its oldest message, its breach's wait, or its arrival.
    Column("waiting_since", UtcDateTime),
    check_in("state", DRAFT_STATES),
    check_in("decision_kind", DECISION_KINDS),
    check_in("retired_because", RETIRED_BECAUSE),
    Index("drafts_conversation_idx", "conversation_id"),
    partial_index("drafts_trainee_idx", "trainee", "received_at", where="trainee is not null"),
    # The recent decisions drafting learns from (newest first, a few hundred).
    partial_index("drafts_decided_idx", "decided_at", where="decided_at is not null"),
    partial_index(
        "drafts_unposted_idx", "received_at", where="card_channel is null and state = 'pending'"
    ),
    partial_index("drafts_waiting_idx", "conversation_id", "waiting_since", where=AWAITING_SQL),
)
TABLE = drafts_table.name


def draft_row(draft: Draft, waiting_since: datetime | None = None) -> Row:
    """``waiting_since``: the oldest customer message it answers, if known."""
    breach = draft.input.breach
    since = waiting_since or (breach.waiting_since if breach else draft.received_at)
    return {
        "id": draft.id,
        "external_id": draft.input.external_id,
        "conversation_id": draft.input.conversation_id,
        "input": input_json(draft.input),
        "flags": [{"kind": flag.kind.value, "reason": flag.reason} for flag in draft.flags],
        "received_at": codec.utc(draft.received_at),
        "state": draft.state.value,
        "card_channel": draft.card.channel if draft.card else None,
        "card_ts": draft.card.ts if draft.card else None,
        "posted_at": codec.opt_utc(draft.posted_at),
        "waiting_since": codec.utc(since),
        **_decision_columns(draft.decision),
        **_training_columns(draft),
        **_retired_columns(draft.retired),
    }


def draft_from_row(row: Mapping[str, Any], reply: Delivery | None = None) -> Draft:
    """A draft from its row, with its reply's delivery (kept in the outbox) if it has one."""
    decision = None
    if row["decision_kind"] is not None:
        decision = Decision(
            kind=DecisionKind(row["decision_kind"]),
            actor=row["decided_by"],
            at=codec.required_ts(row["decided_at"]),
            final_text=row["final_text"],
            reason=RejectReason(row["reject_reason"]) if row["reject_reason"] else None,
            notes=row["decision_notes"],
            escalation_id=row["escalation_id"],
        )
    card = None
    if row["card_channel"] is not None:
        card = SlackRef(channel=row["card_channel"], ts=row["card_ts"])
    return Draft(
        id=row["id"],
        input=input_from(
            codec.json_column(row["input"]), row["conversation_id"], row["external_id"]
        ),
        received_at=codec.required_ts(row["received_at"]),
        flags=tuple(
            RiskFlag(kind=RiskKind(flag["kind"]), reason=flag["reason"])
            for flag in codec.json_column(row["flags"]) or ()
        ),
        state=_state(row),
        card=card,
        posted_at=codec.parse_ts(row["posted_at"]),
        decision=decision,
        reply=reply or Delivery(),
        superseded_by=row["superseded_by"],
        training=_training_from(row),
        retired=_retired_from(row),
    )


def _state(row: Mapping[str, Any]) -> DraftState:
    if row["superseded_by"]:
        return DraftState.SUPERSEDED
    if row.get("retired_at") is not None:
        return DraftState.RETIRED
    return DraftState(row["state"])


def _retired_columns(retired: Retirement | None) -> Row:
    return {
        "retired_at": codec.opt_utc(retired.at if retired else None),
        "retired_because": retired.because.value if retired else None,
        "retired_by": retired.by if retired else None,
    }


def _retired_from(row: Mapping[str, Any]) -> Retirement | None:
    if row.get("retired_at") is None:
        return None
    return Retirement(
        RetiredBecause(row["retired_because"]),
        codec.required_ts(row["retired_at"]),
        row["retired_by"],
    )


def _decision_columns(decision: Decision | None, escalation_id: str | None = None) -> Row:
    if decision is None:
        return dict.fromkeys(DECISION_COLUMNS)
    return {
        "decision_kind": decision.kind.value,
        "decided_by": decision.actor,
        "decided_at": codec.utc(decision.at),
        "final_text": decision.final_text,
        "reject_reason": decision.reason.value if decision.reason else None,
        "decision_notes": decision.notes,
        "escalation_id": decision.escalation_id or escalation_id,
    }


def decision_row(decision: Decision, escalation_id: str | None = None) -> Row:
    """Columns a decision writes: the new state and who/when/what."""
    return {"state": decision.kind.state.value, **_decision_columns(decision, escalation_id)}


def card_row(card: SlackRef, posted_at: datetime) -> Row:
    """Columns set_card writes; a posted card needs no post lease."""
    return {
        "card_channel": card.channel,
        "card_ts": card.ts,
        "posted_at": codec.utc(posted_at),
        "card_lease_until": None,
    }


def _training_columns(draft: Draft) -> Row:
    training = draft.training
    return {
        "scope": draft.scope.value,
        "trainee": training.trainee if training else None,
        "training_round": training.round if training else None,
        "scenario": training.scenario if training else None,
    }


def _training_from(row: Mapping[str, Any]) -> TrainingCard | None:
    if row.get("trainee") is None:
        return None
    return TrainingCard(
        trainee=row["trainee"], round=row["training_round"], scenario=row["scenario"]
    )


def awaiting_decision() -> tuple[Cond, ...]:
    """A draft nobody has decided, no newer draft has replaced and nobody has done in
    Chatwoot."""
    return (
        eq("state", DraftState.PENDING.value),
        is_null("superseded_by"),
        is_null("retired_at"),
    )


def live() -> Cond:
    """A draft for a real customer, not a training card: the only kind the team's queue,
    its numbers, drafting and learning see."""
    return eq("scope", Scope.CX.value)


class Drafts:
    """Drafts, their cards and their decisions (the replies they send are in the outbox)."""

    db: Database

    async def _drafts(self, rows: Sequence[Mapping[str, Any]]) -> list[Draft]:
        """Drafts from their rows, each approved one with its reply's delivery."""
        approved = [row["id"] for row in rows if row["decision_kind"] in SENDS_A_REPLY]
        replies: dict[str, Delivery] = {}
        for start in range(0, len(approved), REPLIES_READ_AT_ONCE):
            chunk = approved[start : start + REPLIES_READ_AT_ONCE]
            ids = [outbox.reply_id(draft_id) for draft_id in chunk]
            query = Query(outbox.TABLE, (one_of("id", ids),))
            for row in await self.db.select(query):
                replies[row["subject_id"]] = deliveries.delivery_from_row("delivery", row)
        return [draft_from_row(row, replies.get(row["id"])) for row in rows]

    async def _draft(self, row: Mapping[str, Any] | None) -> Draft | None:
        return None if row is None else (await self._drafts([row]))[0]

    async def add_draft(self, draft: Draft, *logs: LogEntry) -> tuple[Draft, bool]:
        """Store a draft and its log rows (draft.received, and a CX breach's); a repeated
        external_id returns the first draft and False, writing nothing."""
        change = Change(
            Insert(TABLE, draft_row(draft), ignore_conflict=True),
            tuple(log_insert(log) for log in logs),
        )
        row = await self.db.apply(change)
        if row is not None:
            return draft_from_row(row), True  # new: not decided yet
        return await self._existing_draft(draft), False

    async def start_round(
        self, started: LogEntry, drafts: Sequence[Draft], *logs: LogEntry
    ) -> bool:
        """Take a round of drafts (a training round) by writing its ``started`` row, whose id
        names the round, and store the drafts and their log rows in the same transaction;
        False, writing nothing, when another start took that round first (the row exists)."""
        taken = Insert("decision_log", log_row(started), ignore_conflict=True)
        inserts = (*(Insert(TABLE, draft_row(d)) for d in drafts), *map(log_insert, logs))
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
        """A draft of this conversation received at or after ``since`` and still waiting
        for a decision, if any."""
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
        rows = await self.db.select(Query(TABLE, where, limit=1))
        return await self._draft(rows[0] if rows else None)

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
        query = Query(TABLE, where, order_by=("decided_at", "id"), limit=limit)
        return await self._drafts(await self.db.select(query))

    async def waiting_drafts(self, limit: int) -> list[Draft]:
        """The drafts awaiting a decision, oldest first."""
        where = (*awaiting_decision(), live())
        query = Query(TABLE, where, order_by=("received_at", "id"), limit=limit)
        return await self._drafts(await self.db.select(query))

    async def decided_drafts(self, limit: int) -> list[Draft]:
        """The most recently decided drafts, newest first."""
        query = Query(
            TABLE,
            (not_null("decided_at"), live()),
            order_by=("decided_at",),
            descending=True,
            limit=limit,
        )
        return await self._drafts(await self.db.select(query))

    async def sent_drafts(self) -> list[Draft]:
        """Every draft an operator approved (as drafted or edited), oldest decision first."""
        sent = (
            one_of("decision_kind", [DecisionKind.APPROVE.value, DecisionKind.EDIT.value]),
            live(),
        )
        query = Query(TABLE, sent, order_by=("decided_at", "id"))
        return await self._drafts(await self.db.select(query))

    async def training_cards(self, trainee: str) -> list[Draft]:
        """The trainee's training cards (every round), oldest first. Training cards are in
        no other list of drafts: the queue, the team's numbers, drafting and learning see
        customers' drafts only."""
        query = Query(TABLE, (eq("trainee", trainee),), order_by=("received_at", "id"))
        return await self._drafts(await self.db.select(query))

    async def set_card(
        self,
        draft_id: str,
        card: SlackRef,
        posted_at: datetime,
        log: LogEntry,
        *,
        lease_until: datetime | None = None,
    ) -> Draft | None:
        """Store where the card was posted, releasing the card lease. With ``lease_until``,
        only while that lease is still the draft's and no card is recorded: None otherwise
        (another poster took over), writing nothing. NotFound for an unknown draft."""
        values = card_row(card, posted_at)
        update = posts.record(TABLE, "card", eq("id", draft_id), values, lease_until)
        row = await self.db.apply(Change(update, (log_insert(log),)))
        if row is None and await self.get_draft(draft_id) is None:
            raise NotFound(f"draft {draft_id!r}")
        return await self._draft(row)

    async def refuse_card_post(
        self, draft_id: str, *, lease_until: datetime, log: LogEntry
    ) -> int | None:
        """Count a permanent refusal by Slack (with its log row), while holding that lease;
        the refusals so far, or None if the lease is no longer this poster's. After
        `PARK_AFTER_REFUSALS` the card is parked: not offered for reposting."""
        update = posts.refuse(TABLE, "card", eq("id", draft_id), lease_until)
        row = await self.db.apply(Change(update, (log_insert(log),)))
        return None if row is None else int(row["card_refusals"])

    async def unpark_cards(self, scope: Scope) -> None:
        """Offer every parked card of ``scope`` for reposting again: its channel (the
        approvals channel for `cx`, the training channel for `training`) works again."""
        update = posts.unpark(TABLE, "card")
        update = replace(update, where=(*update.where, eq("scope", scope.value)))
        await self.db.apply(Change(update))

    async def claim_card_post(
        self, draft_id: str, *, now: datetime, lease_until: datetime
    ) -> Draft | None:
        """Take the lease to post a draft's card: only while it has no card and no lease
        unexpired at ``now``; None if it has a card, another caller holds the lease, it was
        decided or superseded, or the draft does not exist."""
        update = posts.claim(TABLE, "card", eq("id", draft_id), now=now, lease_until=lease_until)
        # A draft decided or superseded before its card went out gets no card: a newer one has
        # its own (the card would offer buttons that can no longer work).
        update = replace(update, where=(*update.where, *awaiting_decision()))
        return await self._draft(await self.db.apply(Change(update)))

    async def unposted_drafts(self, now: datetime, limit: int = 100) -> list[str]:
        """Ids of pending drafts with no card and no lease unexpired at ``now``, oldest first."""
        query = Query(
            TABLE,
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
        log: LogEntry,
        escalation: Escalation | None = None,
        messages: Sequence[OutboxMessage] = (),
    ) -> Draft | None:
        """Move a pending draft to ``decision.kind.state``, with the escalation, if any, the
        log row and the Chatwoot messages the decision sends (queued in the outbox, usually
        leased to the decider as their first attempt); None, writing nothing, if it was no
        longer pending."""
        values = decision_row(decision, escalation.id if escalation else None)
        update = Update(TABLE, (eq("id", draft_id), *awaiting_decision()), values)
        then = (
            *((Insert("escalations", escalation_row(escalation)),) if escalation else ()),
            log_insert(log),
            *map(outbox_insert, messages),
        )
        row = await self.db.apply(Change(update, then))
        reply = next((m.delivery for m in messages if m.id == outbox.reply_id(draft_id)), None)
        return None if row is None else draft_from_row(row, reply)  # the reply just queued

    async def retire_waiting(
        self,
        conversation_id: int,
        retired: Retirement,
        log: Callable[[Draft], LogEntry],
        only: str | None = None,
    ) -> list[Draft]:
        """Retire every draft of the conversation still awaiting a decision (the team's, not
        training cards; ``only`` that draft), each with its ``log(draft)`` row, in its own
        conditional write: a draft decided in the meantime stays decided. The drafts
        retired, oldest first."""
        which = (eq("conversation_id", conversation_id), *((eq("id", only),) if only else ()))
        query = Query(TABLE, (*which, *awaiting_decision(), live()), order_by=("received_at", "id"))
        retired_drafts = []
        for waiting in await self._drafts(await self.db.select(query)):
            update = Update(
                TABLE,
                (eq("id", waiting.id), *awaiting_decision()),
                _retired_columns(retired),
            )
            row = await self.db.apply(Change(update, (log_insert(log(waiting)),)))
            if row is not None:
                retired_drafts.append(draft_from_row(row))
        return retired_drafts
