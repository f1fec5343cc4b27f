"""The Store contract, proven on SQLite, PostgreSQL and Supabase's REST API alike."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import psycopg
import pytest

from bot.domain import (
    Action,
    Customer,
    CustomerContext,
    Decision,
    DecisionKind,
    Draft,
    DraftInput,
    DraftState,
    Escalation,
    EscalationState,
    EscalationType,
    KbSource,
    LogEntry,
    Order,
    Outcome,
    RejectReason,
    Reply,
    ReplyStatus,
    Risk,
    RiskFlag,
    RiskKind,
    Scope,
    SlackRef,
    Urgency,
)
from bot.store import NotFound, QueueSummary, SchemaNotApplied, Store, codec, open_store
from bot.store.base import migrations
from bot.store.sql import SqlStore, async_url
from bot.store.supabase import SupabaseStore
from tests.postgrest_standin import PostgrestStandin, serving

if TYPE_CHECKING:
    from tests.store_fixtures import Backend, RestServer

pytest_plugins = ["tests.store_fixtures"]

T0 = datetime(2025, 3, 14, 9, 30, 12, 345678, tzinfo=UTC)
LEASE = timedelta(minutes=2)
SHIPPED = ["0001_init", "0002_post_leases"]


def make_draft(draft_id: str, *, external_id: str | None = None, at: datetime = T0) -> Draft:
    return Draft(
        id=draft_id,
        input=DraftInput(
            conversation_id=101,
            customer_message="Can you check on order #12345? Où est mon colis? 📦",
            draft="Hi Susan! Your order #12345 shipped yesterday via FedEx...",
            confidence=0.95,
            customer=Customer(name="Susan Martinez", email="susan@example.com"),
            kb_sources=(KbSource(title="Shipping Policy", version="v2.1", relevance=0.98),),
            risk=Risk.LOW,
            agent="Order Support Agent",
            order=Order(id="12345", value_usd=450.0),
            amount_usd=None,
            customer_context=CustomerContext(orders=15, lifetime_value_usd=2100.0),
            external_id=external_id,
        ),
        received_at=at,
        flags=(RiskFlag(kind=RiskKind.HIGH_VALUE, reason="order value $450 over $100"),),
    )


def entry(
    subject_id: str,
    action: Action | str = Action.DRAFT_RECEIVED,
    *,
    at: datetime = T0,
    actor: str = "system",
    payload: dict[str, Any] | None = None,
) -> LogEntry:
    return LogEntry(
        id=f"log-{uuid.uuid4().hex}",
        created_at=at,
        actor=actor,
        action=action,
        scope=Scope.CX,
        subject_id=subject_id,
        conversation_id=101,
        payload=payload if payload is not None else {"note": "test"},
        outcome=Outcome.SUCCESS,
    )


def approval(actor: str = "U0APPROVER", at: datetime = T0) -> Decision:
    return Decision(kind=DecisionKind.APPROVE, actor=actor, at=at, final_text="Hi Susan!")


def make_escalation(
    escalation_id: str, draft_id: str, *, due_at: datetime, created_at: datetime = T0
) -> Escalation:
    return Escalation(
        id=escalation_id,
        draft_id=draft_id,
        conversation_id=101,
        type=EscalationType.HIGH_VALUE,
        urgency=Urgency.URGENT,
        notes="Refund over $100 — needs a manager",
        escalated_by="U0OPERATOR",
        created_at=created_at,
        due_at=due_at,
    )


async def stored_draft(store: Store, draft_id: str, **kwargs: Any) -> Draft:
    draft, created = await store.add_draft(make_draft(draft_id, **kwargs), entry(draft_id))
    assert created
    return draft


async def approved_draft(store: Store, draft_id: str, *, at: datetime = T0) -> Draft:
    await stored_draft(store, draft_id, at=at)
    decided = await store.decide(
        draft_id,
        approval(),
        reply_status=ReplyStatus.QUEUED,
        log=entry(draft_id, Action.DRAFT_APPROVED),
    )
    assert decided is not None
    return decided


async def escalated_draft(
    store: Store, draft_id: str, *, due_at: datetime = T0, created_at: datetime = T0
) -> Escalation:
    await stored_draft(store, draft_id)
    escalation = make_escalation(f"esc-{draft_id}", draft_id, due_at=due_at, created_at=created_at)
    decision = Decision(
        kind=DecisionKind.ESCALATE, actor="U0OPERATOR", at=T0, escalation_id=escalation.id
    )
    decided = await store.decide(
        draft_id,
        decision,
        reply_status=ReplyStatus.NONE,
        log=entry(draft_id, Action.DRAFT_ESCALATED),
        escalation=escalation,
    )
    assert decided is not None
    return escalation


async def actions(store: Store, subject_id: str) -> list[str]:
    return [str(e.action) for e in await store.entries(subject_id=subject_id)]


# --- drafts ---------------------------------------------------------------------------------


async def test_stored_draft_reads_back_field_for_field(store: Store) -> None:
    draft = make_draft("d-1", external_id="chatwoot-msg-8812")

    returned, created = await store.add_draft(draft, entry("d-1"))

    assert created
    assert returned == draft
    assert await store.get_draft("d-1") == draft
    assert await actions(store, "d-1") == ["draft.received"]


async def test_repeated_external_id_returns_first_draft_and_logs_once(store: Store) -> None:
    first = make_draft("d-first", external_id="chatwoot-msg-8812")
    repeat = make_draft("d-repeat", external_id="chatwoot-msg-8812")
    await store.add_draft(first, entry("d-first"))

    returned, created = await store.add_draft(repeat, entry("d-repeat"))

    assert not created
    assert returned.id == "d-first"
    assert await store.get_draft("d-repeat") is None
    received = [e for e in await store.entries() if e.action == Action.DRAFT_RECEIVED]
    assert [e.subject_id for e in received] == ["d-first"]


async def test_concurrent_deliveries_of_one_message_store_one_draft(store: Store) -> None:
    drafts = [make_draft(f"d-{n}", external_id="chatwoot-msg-77") for n in range(8)]

    results = await asyncio.gather(*(store.add_draft(d, entry(d.id)) for d in drafts))

    assert sum(created for _, created in results) == 1
    assert len({draft.id for draft, _ in results}) == 1
    assert len(await store.entries()) == 1


async def test_drafts_without_external_id_are_each_stored(store: Store) -> None:
    await stored_draft(store, "d-a")
    await stored_draft(store, "d-b")

    assert (await store.get_draft("d-a")) is not None
    assert (await store.get_draft("d-b")) is not None


async def test_unknown_ids_read_as_none(store: Store) -> None:
    assert await store.get_draft("nope") is None
    assert await store.get_escalation("nope") is None
    assert await store.escalation_for_draft("nope") is None


async def test_card_location_is_stored_with_its_log_row(store: Store) -> None:
    await stored_draft(store, "d-1")
    card = SlackRef(channel="C0APPROVALS", ts="1710408612.000100")

    updated = await store.set_card("d-1", card, T0, entry("d-1", Action.DRAFT_POSTED))

    assert updated.card == card
    assert updated.posted_at == T0
    assert (await store.get_draft("d-1")) == updated
    assert await actions(store, "d-1") == ["draft.received", "draft.posted"]


async def test_card_for_unknown_draft_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.set_card("nope", SlackRef("C1", "1.2"), T0, entry("nope", Action.DRAFT_POSTED))
    assert await store.entries() == []


# --- decisions ------------------------------------------------------------------------------


async def test_only_one_of_twenty_concurrent_decisions_wins(store: Store) -> None:
    await stored_draft(store, "d-1")
    attempts = [
        (approval(actor=f"U{n:02d}"), entry("d-1", Action.DRAFT_APPROVED, actor=f"U{n:02d}"))
        for n in range(20)
    ]

    results = await asyncio.gather(
        *(
            store.decide("d-1", decision, reply_status=ReplyStatus.QUEUED, log=log)
            for decision, log in attempts
        )
    )

    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    winner = winners[0]
    assert winner.state is DraftState.APPROVED
    assert winner.reply.status is ReplyStatus.QUEUED
    assert await store.get_draft("d-1") == winner
    approved = [e for e in await store.entries(subject_id="d-1") if e.action != "draft.received"]
    assert [e.actor for e in approved] == [winner.decision.actor]


async def test_decided_draft_refuses_a_second_decision_and_logs_nothing(store: Store) -> None:
    await approved_draft(store, "d-1")
    reject = Decision(
        kind=DecisionKind.REJECT, actor="U0LATE", at=T0, reason=RejectReason.WRONG_TONE
    )

    result = await store.decide(
        "d-1", reject, reply_status=ReplyStatus.NONE, log=entry("d-1", Action.DRAFT_REJECTED)
    )

    assert result is None
    stored = await store.get_draft("d-1")
    assert stored is not None and stored.state is DraftState.APPROVED
    assert await actions(store, "d-1") == ["draft.received", "draft.approved"]


async def test_edit_stores_final_text_and_reject_stores_reason(store: Store) -> None:
    await stored_draft(store, "d-edit")
    await stored_draft(store, "d-reject")
    edit = Decision(
        kind=DecisionKind.EDIT, actor="U1", at=T0, final_text="Hi Susan — fixed ✓", notes="tone"
    )
    reject = Decision(
        kind=DecisionKind.REJECT,
        actor="U2",
        at=T0,
        reason=RejectReason.FACTUAL_ERROR,
        notes="wrong carrier",
    )

    edited = await store.decide(
        "d-edit", edit, reply_status=ReplyStatus.QUEUED, log=entry("d-edit", Action.DRAFT_EDITED)
    )
    rejected = await store.decide(
        "d-reject",
        reject,
        reply_status=ReplyStatus.NONE,
        log=entry("d-reject", Action.DRAFT_REJECTED),
    )

    assert edited is not None and edited.decision == edit
    assert edited.state is DraftState.APPROVED
    assert rejected is not None and rejected.decision == reject
    assert rejected.state is DraftState.REJECTED
    assert rejected.reply.status is ReplyStatus.NONE
    assert await store.get_draft("d-reject") == rejected


async def test_escalation_is_stored_with_the_decision(store: Store) -> None:
    escalation = await escalated_draft(store, "d-1", due_at=T0 + timedelta(minutes=15))

    draft = await store.get_draft("d-1")
    assert draft is not None
    assert draft.state is DraftState.ESCALATED
    assert draft.decision is not None and draft.decision.escalation_id == escalation.id
    assert await store.get_escalation(escalation.id) == escalation
    assert await store.escalation_for_draft("d-1") == escalation
    assert await actions(store, "d-1") == ["draft.received", "draft.escalated"]


async def test_lost_escalation_race_stores_no_escalation(store: Store) -> None:
    await approved_draft(store, "d-1")
    escalation = make_escalation("esc-late", "d-1", due_at=T0)

    result = await store.decide(
        "d-1",
        Decision(kind=DecisionKind.ESCALATE, actor="U0LATE", at=T0),
        reply_status=ReplyStatus.NONE,
        log=entry("d-1", Action.DRAFT_ESCALATED),
        escalation=escalation,
    )

    assert result is None
    assert await store.get_escalation("esc-late") is None


# --- replies --------------------------------------------------------------------------------


async def test_only_one_concurrent_reply_claim_wins(store: Store) -> None:
    await approved_draft(store, "d-1")

    results = await asyncio.gather(
        *(store.claim_reply("d-1", now=T0, lease_until=T0 + LEASE) for _ in range(10))
    )

    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert winners[0].reply.status is ReplyStatus.SENDING
    assert winners[0].reply.attempts == 1
    assert winners[0].reply.lease_until == T0 + LEASE


async def test_expired_lease_lets_a_second_worker_reclaim(store: Store) -> None:
    await approved_draft(store, "d-1")
    assert await store.claim_reply("d-1", now=T0, lease_until=T0 + LEASE) is not None

    during_lease = T0 + LEASE - timedelta(seconds=1)
    after_lease = T0 + LEASE + timedelta(seconds=1)
    assert (
        await store.claim_reply("d-1", now=during_lease, lease_until=during_lease + LEASE) is None
    )
    reclaimed = await store.claim_reply("d-1", now=after_lease, lease_until=after_lease + LEASE)

    assert reclaimed is not None
    assert reclaimed.reply.attempts == 2
    assert reclaimed.reply.lease_until == after_lease + LEASE


async def test_a_decision_can_take_the_first_reply_lease_itself(store: Store) -> None:
    await store.add_draft(make_draft("d-1"), entry("l-1"))
    decided = await store.decide(
        "d-1",
        Decision(DecisionKind.APPROVE, "U1", T0, final_text="hello"),
        reply_status=ReplyStatus.SENDING,
        log=entry("l-2"),
        reply_lease_until=T0 + LEASE,
    )

    assert decided is not None
    assert (decided.reply.status, decided.reply.attempts) == (ReplyStatus.SENDING, 1)
    assert decided.reply.lease_until == T0 + LEASE
    assert await store.claim_reply("d-1", now=T0, lease_until=T0 + LEASE) is None
    assert await store.due_replies(T0) == []
    after = T0 + LEASE + timedelta(seconds=1)
    assert await store.due_replies(after) == ["d-1"]
    reclaimed = await store.claim_reply("d-1", now=after, lease_until=after + LEASE)
    assert reclaimed is not None and reclaimed.reply.attempts == 2


async def test_gave_up_reply_is_claimed_only_when_forced(store: Store) -> None:
    await approved_draft(store, "d-1")
    await store.claim_reply("d-1", now=T0, lease_until=T0 + LEASE)
    gave_up = Reply(status=ReplyStatus.GAVE_UP, attempts=1, last_error="422 conversation closed")
    await store.finish_reply("d-1", gave_up, entry("d-1", Action.REPLY_FAILED))
    later = T0 + timedelta(days=1)

    assert await store.claim_reply("d-1", now=later, lease_until=later + LEASE) is None
    forced = await store.claim_reply("d-1", now=later, lease_until=later + LEASE, force=True)

    assert forced is not None
    assert forced.reply.status is ReplyStatus.SENDING
    assert forced.reply.attempts == 2


async def test_failed_reply_waits_for_its_next_attempt_unless_forced(store: Store) -> None:
    await approved_draft(store, "d-1")
    await store.claim_reply("d-1", now=T0, lease_until=T0 + LEASE)
    retry_at = T0 + timedelta(minutes=5)
    failed = Reply(
        status=ReplyStatus.FAILED, attempts=1, next_attempt_at=retry_at, last_error="503"
    )
    await store.finish_reply("d-1", failed, entry("d-1", Action.REPLY_FAILED))

    early = T0 + timedelta(minutes=1)
    assert await store.claim_reply("d-1", now=early, lease_until=early + LEASE) is None
    assert await store.claim_reply("d-1", now=retry_at, lease_until=retry_at + LEASE) is not None


async def test_failed_reply_can_be_forced_before_its_time(store: Store) -> None:
    await approved_draft(store, "d-1")
    await store.claim_reply("d-1", now=T0, lease_until=T0 + LEASE)
    failed = Reply(status=ReplyStatus.FAILED, attempts=1, next_attempt_at=T0 + timedelta(hours=1))
    await store.finish_reply("d-1", failed, entry("d-1", Action.REPLY_FAILED))

    forced = await store.claim_reply("d-1", now=T0, lease_until=T0 + LEASE, force=True)

    assert forced is not None and forced.reply.attempts == 2


async def test_finished_reply_is_stored_with_its_log_row(store: Store) -> None:
    await approved_draft(store, "d-1")
    await store.claim_reply("d-1", now=T0, lease_until=T0 + LEASE)
    sent_at = T0 + timedelta(seconds=3)
    sent = Reply(status=ReplyStatus.SENT, attempts=1, message_id="9001", sent_at=sent_at)

    finished = await store.finish_reply(
        "d-1", sent, entry("d-1", Action.REPLY_SENT, payload={"message_id": "9001"})
    )

    assert finished.reply == Reply(
        status=ReplyStatus.SENT, attempts=1, message_id="9001", sent_at=sent_at, lease_until=None
    )
    assert await store.get_draft("d-1") == finished
    assert await actions(store, "d-1") == ["draft.received", "draft.approved", "reply.sent"]
    assert await store.claim_reply("d-1", now=sent_at, lease_until=sent_at + LEASE) is None


async def test_a_late_attempt_cannot_overwrite_the_worker_that_took_over(store: Store) -> None:
    await approved_draft(store, "d-1")
    await store.claim_reply("d-1", now=T0, lease_until=T0 + LEASE)
    after = T0 + LEASE + timedelta(seconds=1)
    await store.claim_reply("d-1", now=after, lease_until=after + LEASE)  # attempt 2

    late = await store.finish_reply(
        "d-1", Reply(status=ReplyStatus.FAILED, attempts=1), entry("d-1", Action.REPLY_FAILED)
    )
    current = await store.finish_reply(
        "d-1", Reply(status=ReplyStatus.SENT, attempts=2), entry("d-1", Action.REPLY_SENT)
    )

    assert late is None
    assert current is not None and current.reply.status is ReplyStatus.SENT
    assert await actions(store, "d-1") == ["draft.received", "draft.approved", "reply.sent"]


async def test_finish_reply_for_unknown_draft_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.finish_reply("nope", Reply(status=ReplyStatus.SENT), entry("nope"))


async def test_due_replies_respect_next_attempt_and_lease(store: Store) -> None:
    for name in ("queued", "failed-due", "failed-later", "sending-expired", "sending-live"):
        await approved_draft(store, name)
    await stored_draft(store, "pending")
    await approved_draft(store, "sent")
    await store.claim_reply("sent", now=T0, lease_until=T0 + LEASE)
    await store.finish_reply("sent", Reply(status=ReplyStatus.SENT, attempts=1), entry("sent"))
    earlier = T0 - timedelta(minutes=10)
    for name, retry_at in (("failed-due", T0), ("failed-later", T0 + timedelta(minutes=5))):
        await store.claim_reply(name, now=earlier, lease_until=earlier + LEASE)
        failed = Reply(status=ReplyStatus.FAILED, attempts=1, next_attempt_at=retry_at)
        await store.finish_reply(name, failed, entry(name))
    await store.claim_reply("sending-expired", now=earlier, lease_until=T0 - timedelta(seconds=1))
    await store.claim_reply("sending-live", now=earlier, lease_until=T0 + LEASE)

    assert set(await store.due_replies(T0)) == {"queued", "failed-due", "sending-expired"}
    later = T0 + timedelta(minutes=10)
    assert set(await store.due_replies(later)) == {
        "queued",
        "failed-due",
        "failed-later",
        "sending-expired",
        "sending-live",
    }
    assert len(await store.due_replies(later, limit=2)) == 2


# --- escalations ----------------------------------------------------------------------------


async def test_escalation_message_location_is_stored(store: Store) -> None:
    escalation = await escalated_draft(store, "d-1")
    message = SlackRef(channel="C0ESCALATIONS", ts="1710408700.000200")

    updated = await store.set_escalation_message(
        escalation.id, message, entry(escalation.id, Action.ESCALATION_POSTED)
    )

    assert updated.message == message
    assert await store.get_escalation(escalation.id) == updated
    with pytest.raises(NotFound):
        await store.set_escalation_message("nope", message, entry("nope"))


async def test_only_one_concurrent_escalation_claim_wins(store: Store) -> None:
    escalation = await escalated_draft(store, "d-1")
    remind_at = T0 + timedelta(minutes=30)

    results = await asyncio.gather(
        *(
            store.claim_escalation(
                escalation.id,
                actor=f"UMGR{n}",
                now=T0,
                next_reminder_at=remind_at,
                log=entry(escalation.id, Action.ESCALATION_CLAIMED, actor=f"UMGR{n}"),
            )
            for n in range(10)
        )
    )

    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    claimed = winners[0]
    assert claimed.state is EscalationState.CLAIMED
    assert claimed.claimed_at == T0
    assert claimed.next_reminder_at == remind_at
    claims = await store.entries(subject_id=escalation.id)
    assert [e.actor for e in claims] == [claimed.claimed_by]


async def test_escalation_resolves_once_from_open_or_claimed(store: Store) -> None:
    open_one = await escalated_draft(store, "d-open")
    claimed_one = await escalated_draft(store, "d-claimed")
    await store.claim_escalation(
        claimed_one.id, actor="UMGR", now=T0, next_reminder_at=None, log=entry(claimed_one.id)
    )
    later = T0 + timedelta(minutes=20)

    for escalation in (open_one, claimed_one):
        resolved = await store.resolve_escalation(
            escalation.id, actor="UMGR", now=later, log=entry(escalation.id)
        )
        assert resolved is not None
        assert (resolved.state, resolved.resolved_by, resolved.resolved_at) == (
            EscalationState.RESOLVED,
            "UMGR",
            later,
        )
        again = await store.resolve_escalation(
            escalation.id, actor="UOTHER", now=later, log=entry(escalation.id)
        )
        assert again is None
    assert (
        await store.claim_escalation(
            open_one.id, actor="UMGR", now=later, next_reminder_at=None, log=entry(open_one.id)
        )
        is None
    )


async def test_reminders_fall_due_and_each_round_is_sent_once(store: Store) -> None:
    escalation = await escalated_draft(store, "d-1", due_at=T0)
    await escalated_draft(store, "d-2", due_at=T0 + timedelta(hours=1))
    next_round = T0 + timedelta(minutes=15)

    assert await store.due_reminders(T0 - timedelta(seconds=1)) == []
    assert await store.due_reminders(T0) == [escalation.id]
    results = await asyncio.gather(
        *(
            store.mark_reminded(
                escalation.id,
                expected_count=0,
                next_reminder_at=next_round,
                log=entry(escalation.id, Action.ESCALATION_REMINDED),
            )
            for _ in range(10)
        )
    )

    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert winners[0].reminders_sent == 1
    assert winners[0].next_reminder_at == next_round
    assert await actions(store, escalation.id) == ["escalation.reminded"]
    assert await store.due_reminders(T0 + timedelta(minutes=14)) == []
    assert await store.due_reminders(next_round) == [escalation.id]


async def test_claimed_escalation_gets_no_reminders(store: Store) -> None:
    escalation = await escalated_draft(store, "d-1", due_at=T0)
    await store.claim_escalation(
        escalation.id, actor="UMGR", now=T0, next_reminder_at=None, log=entry(escalation.id)
    )

    assert await store.due_reminders(T0 + timedelta(hours=1)) == []
    assert (
        await store.mark_reminded(
            escalation.id, expected_count=0, next_reminder_at=T0, log=entry(escalation.id)
        )
        is None
    )


# --- reposting Slack messages that failed to post -----------------------------------------


async def test_only_one_of_twenty_concurrent_card_post_claims_wins(store: Store) -> None:
    await stored_draft(store, "d-1")

    results = await asyncio.gather(
        *(store.claim_card_post("d-1", now=T0, lease_until=T0 + LEASE) for _ in range(20))
    )

    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert winners[0] == await store.get_draft("d-1")
    assert winners[0].card is None
    assert await store.unposted_drafts(T0) == []
    assert await actions(store, "d-1") == ["draft.received"]


async def test_expired_card_lease_can_be_taken_again(store: Store) -> None:
    await stored_draft(store, "d-1")
    assert await store.claim_card_post("d-1", now=T0, lease_until=T0 + LEASE) is not None
    during = T0 + LEASE - timedelta(seconds=1)
    after = T0 + LEASE + timedelta(seconds=1)

    assert await store.claim_card_post("d-1", now=during, lease_until=during + LEASE) is None
    assert await store.claim_card_post("d-1", now=T0 + LEASE, lease_until=after) is None
    assert await store.unposted_drafts(T0 + LEASE) == []
    assert await store.unposted_drafts(after) == ["d-1"]
    assert await store.claim_card_post("d-1", now=after, lease_until=after + LEASE) is not None
    assert await store.claim_card_post("d-1", now=after, lease_until=after + LEASE) is None


async def test_draft_with_a_card_is_neither_unposted_nor_claimable(store: Store) -> None:
    card = SlackRef(channel="C0APPROVALS", ts="1710408612.000100")
    await stored_draft(store, "d-posted-first-time")
    await stored_draft(store, "d-reposted")
    await stored_draft(store, "d-waiting")
    await store.set_card("d-posted-first-time", card, T0, entry("d-posted-first-time"))
    await store.claim_card_post("d-reposted", now=T0, lease_until=T0 + LEASE)
    await store.set_card("d-reposted", card, T0, entry("d-reposted"))
    later = T0 + timedelta(days=1)

    assert await store.unposted_drafts(T0) == ["d-waiting"]
    assert await store.unposted_drafts(later) == ["d-waiting"]
    for draft_id in ("d-posted-first-time", "d-reposted"):
        assert await store.claim_card_post(draft_id, now=later, lease_until=later + LEASE) is None
        stored = await store.get_draft(draft_id)
        assert stored is not None and stored.card == card
    assert await store.claim_card_post("nope", now=T0, lease_until=T0 + LEASE) is None


async def test_unposted_drafts_are_pending_only_and_oldest_first(store: Store) -> None:
    minute = timedelta(minutes=1)
    await stored_draft(store, "d-newest", at=T0 + 2 * minute)
    await stored_draft(store, "d-oldest", at=T0)
    await stored_draft(store, "d-middle", at=T0 + minute)
    await approved_draft(store, "d-approved")
    await stored_draft(store, "d-rejected")
    reject = Decision(kind=DecisionKind.REJECT, actor="U1", at=T0, reason=RejectReason.OTHER)
    await store.decide("d-rejected", reject, reply_status=ReplyStatus.NONE, log=entry("d-rejected"))
    await escalated_draft(store, "d-escalated")

    assert await store.unposted_drafts(T0) == ["d-oldest", "d-middle", "d-newest"]
    assert await store.unposted_drafts(T0, limit=2) == ["d-oldest", "d-middle"]


async def test_only_one_of_twenty_concurrent_escalation_post_claims_wins(store: Store) -> None:
    escalation = await escalated_draft(store, "d-1")

    results = await asyncio.gather(
        *(
            store.claim_escalation_post(escalation.id, now=T0, lease_until=T0 + LEASE)
            for _ in range(20)
        )
    )

    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert winners[0] == escalation == await store.get_escalation(escalation.id)
    assert await store.unposted_escalations(T0) == []
    assert await actions(store, escalation.id) == []


async def test_expired_escalation_post_lease_can_be_taken_again(store: Store) -> None:
    escalation = await escalated_draft(store, "d-1")
    claim = store.claim_escalation_post
    assert await claim(escalation.id, now=T0, lease_until=T0 + LEASE) is not None
    during = T0 + LEASE - timedelta(seconds=1)
    after = T0 + LEASE + timedelta(seconds=1)

    assert await claim(escalation.id, now=during, lease_until=during + LEASE) is None
    assert await claim(escalation.id, now=T0 + LEASE, lease_until=after) is None
    assert await store.unposted_escalations(T0 + LEASE) == []
    assert await store.unposted_escalations(after) == [escalation.id]
    assert await claim(escalation.id, now=after, lease_until=after + LEASE) is not None
    assert await claim(escalation.id, now=after, lease_until=after + LEASE) is None


async def test_escalation_with_a_message_is_neither_unposted_nor_claimable(store: Store) -> None:
    message = SlackRef(channel="C0ESCALATIONS", ts="1710408700.000200")
    first_time = await escalated_draft(store, "d-first-time")
    reposted = await escalated_draft(store, "d-reposted")
    waiting = await escalated_draft(store, "d-waiting")
    await store.set_escalation_message(first_time.id, message, entry(first_time.id))
    await store.claim_escalation_post(reposted.id, now=T0, lease_until=T0 + LEASE)
    await store.set_escalation_message(reposted.id, message, entry(reposted.id))
    later = T0 + timedelta(days=1)

    assert await store.unposted_escalations(T0) == [waiting.id]
    assert await store.unposted_escalations(later) == [waiting.id]
    for escalation in (first_time, reposted):
        claimed = await store.claim_escalation_post(
            escalation.id, now=later, lease_until=later + LEASE
        )
        assert claimed is None
        stored = await store.get_escalation(escalation.id)
        assert stored is not None and stored.message == message
    assert await store.claim_escalation_post("nope", now=T0, lease_until=T0 + LEASE) is None


async def test_unposted_escalations_are_unresolved_only_and_oldest_first(store: Store) -> None:
    minute = timedelta(minutes=1)
    newest = await escalated_draft(store, "d-newest", created_at=T0 + 2 * minute)
    oldest = await escalated_draft(store, "d-oldest", created_at=T0)
    claimed = await escalated_draft(store, "d-claimed", created_at=T0 + minute)
    resolved = await escalated_draft(store, "d-resolved")
    await store.claim_escalation(
        claimed.id, actor="UMGR", now=T0, next_reminder_at=None, log=entry(claimed.id)
    )
    await store.resolve_escalation(resolved.id, actor="UMGR", now=T0, log=entry(resolved.id))

    assert await store.unposted_escalations(T0) == [oldest.id, claimed.id, newest.id]
    assert await store.unposted_escalations(T0, limit=2) == [oldest.id, claimed.id]


# --- queue summary --------------------------------------------------------------------------

EMPTY_QUEUE = QueueSummary(
    pending=0,
    oldest_pending_at=None,
    replies_in_flight=0,
    replies_failing=0,
    open_escalations=0,
    overdue_escalations=0,
)


REPLY_ACTIONS = {
    ReplyStatus.SENT: Action.REPLY_SENT,
    ReplyStatus.RECORDED: Action.REPLY_RECORDED,
    ReplyStatus.FAILED: Action.REPLY_FAILED,
    ReplyStatus.GAVE_UP: Action.REPLY_FAILED,
}


async def reply_in_state(store: Store, draft_id: str, status: ReplyStatus) -> None:
    """An approved draft whose reply has reached ``status``."""
    await approved_draft(store, draft_id)
    if status is ReplyStatus.QUEUED:
        return
    await store.claim_reply(draft_id, now=T0, lease_until=T0 + LEASE)
    if status is not ReplyStatus.SENDING:
        retry_at = T0 + timedelta(minutes=5) if status is ReplyStatus.FAILED else None
        finished = Reply(status=status, attempts=1, next_attempt_at=retry_at)
        await store.finish_reply(draft_id, finished, entry(draft_id, REPLY_ACTIONS[status]))
    stored = await store.get_draft(draft_id)
    assert stored is not None and stored.reply.status is status


async def test_empty_store_has_an_empty_queue(store: Store) -> None:
    assert await store.queue_summary(T0) == EMPTY_QUEUE


async def test_queue_summary_counts_each_kind_of_waiting_work(store: Store) -> None:
    hour = timedelta(hours=1)
    # pending: 3, oldest received two hours ago (stored out of order, and an older
    # draft that is no longer pending does not count)
    await approved_draft(store, "approved-long-ago", at=T0 - 3 * hour)
    for name, received in (("p-new", T0 - timedelta(minutes=5)), ("p-old", T0 - 2 * hour)):
        await stored_draft(store, name, at=received)
    await stored_draft(store, "p-mid", at=T0 - hour)
    # replies in flight: 4 (the long-ago approval above is queued too); failing: 2
    for name, status in (
        ("r-queued", ReplyStatus.QUEUED),
        ("r-sending-1", ReplyStatus.SENDING),
        ("r-sending-2", ReplyStatus.SENDING),
        ("r-failed", ReplyStatus.FAILED),
        ("r-gave-up", ReplyStatus.GAVE_UP),
        ("r-sent", ReplyStatus.SENT),
        ("r-recorded", ReplyStatus.RECORDED),
    ):
        await reply_in_state(store, name, status)
    reject = Decision(kind=DecisionKind.REJECT, actor="U1", at=T0, reason=RejectReason.OTHER)
    await stored_draft(store, "rejected")
    await store.decide("rejected", reject, reply_status=ReplyStatus.NONE, log=entry("rejected"))
    # escalations: 5 open or claimed; 1 open and past due (due exactly now is not overdue;
    # a claimed or resolved one is never overdue)
    await escalated_draft(store, "e-overdue", due_at=T0 - timedelta(minutes=1))
    await escalated_draft(store, "e-due-now", due_at=T0)
    await escalated_draft(store, "e-later-1", due_at=T0 + timedelta(minutes=10))
    await escalated_draft(store, "e-later-2", due_at=T0 + hour)
    claimed = await escalated_draft(store, "e-claimed", due_at=T0 - hour)
    await store.claim_escalation(
        claimed.id, actor="UMGR", now=T0, next_reminder_at=None, log=entry(claimed.id)
    )
    resolved = await escalated_draft(store, "e-resolved", due_at=T0 - hour)
    await store.resolve_escalation(resolved.id, actor="UMGR", now=T0, log=entry(resolved.id))

    summary = await store.queue_summary(T0)

    assert summary == QueueSummary(
        pending=3,
        oldest_pending_at=T0 - 2 * hour,
        replies_in_flight=4,
        replies_failing=2,
        open_escalations=5,
        overdue_escalations=1,
    )
    assert summary.oldest_pending_at is not None
    assert summary.oldest_pending_at.utcoffset() == timedelta(0)
    kolkata = timezone(timedelta(hours=5, minutes=30))
    assert await store.queue_summary(T0.astimezone(kolkata)) == summary
    just_after = await store.queue_summary(T0 + timedelta(microseconds=1))
    assert just_after.overdue_escalations == 2
    assert (await store.queue_summary(T0 + 2 * hour)).overdue_escalations == 4


async def test_queue_counts_are_not_capped_by_a_response_page(
    store: Store, backend: Backend
) -> None:
    page = backend.standin.max_rows if backend.standin else 50
    count = page * 2 + 3
    for n in range(count):
        await stored_draft(store, f"p-{n:03d}", at=T0 + timedelta(seconds=n))

    summary = await store.queue_summary(T0)

    assert summary == replace(EMPTY_QUEUE, pending=count, oldest_pending_at=T0)


# --- decision log ---------------------------------------------------------------------------


async def test_entries_filter_by_time_and_subject_oldest_first(store: Store) -> None:
    minute = timedelta(minutes=1)
    rows = [
        entry("d-1", at=T0 + 2 * minute, payload={"n": "third"}),
        entry("d-2", at=T0, payload={"n": "first"}),
        entry("d-1", at=T0 + minute, payload={"n": "second-a"}),
        entry("d-2", at=T0 + minute, payload={"n": "second-b"}),
        entry("d-1", at=T0 + 3 * minute, payload={"n": "fourth"}),
    ]
    for row in rows:
        await store.log(row)

    everything = await store.entries()
    window = await store.entries(since=T0 + minute, until=T0 + 3 * minute)
    for_d1 = await store.entries(subject_id="d-1", since=T0 + minute)

    assert [e.payload["n"] for e in everything] == [
        "first",
        "second-a",
        "second-b",
        "third",
        "fourth",
    ]
    assert [e.payload["n"] for e in window] == ["second-a", "second-b", "third"]
    assert [e.payload["n"] for e in for_d1] == ["second-a", "third", "fourth"]
    assert everything[0] == rows[1]


async def test_whole_log_is_read_even_past_one_response_page(
    store: Store, backend: Backend
) -> None:
    page = backend.standin.max_rows if backend.standin else 50
    count = page * 2 + 7
    for n in range(count):
        await store.log(entry("d-1", at=T0 + timedelta(seconds=n), payload={"n": n}))

    assert [e.payload["n"] for e in await store.entries()] == list(range(count))


async def test_payload_json_round_trips(store: Store) -> None:
    payload = {
        "before": "Hi Susan! 👋 Your order shipped.",
        "after": "Bonjour Susan — votre commande est partie. 日本語もOK",
        "nested": {"amounts": [450.0, 12.5, 0], "flags": [{"kind": "high_value", "ok": True}]},
        "empty": {},
        "none": None,
        "quote": 'She said "refund" & <left>',
    }
    row = replace(entry("d-1", Action.DRAFT_EDITED, payload=payload), scope=Scope.TRAINING)

    await store.log(row)

    [stored] = await store.entries()
    assert stored == row
    assert stored.action is Action.DRAFT_EDITED


async def test_unknown_action_names_are_kept_as_text(store: Store) -> None:
    await store.log(entry("d-1", "draft.reopened"))

    [stored] = await store.entries()
    assert stored.action == "draft.reopened"


async def test_timestamps_come_back_as_aware_utc(store: Store) -> None:
    kolkata = timezone(timedelta(hours=5, minutes=30))
    local = datetime(2025, 3, 14, 15, 0, 12, 345678, tzinfo=kolkata)
    await store.add_draft(make_draft("d-1", at=local), entry("d-1", at=local))

    draft = await store.get_draft("d-1")
    [logged] = await store.entries()

    for value in (draft.received_at, logged.created_at):
        assert value.utcoffset() == timedelta(0)
        assert value == local
        assert value.microsecond == 345678


async def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="naive"):
        await store.add_draft(make_draft("d-1", at=datetime(2025, 3, 14, 9, 30)), entry("d-1"))
    assert await store.get_draft("d-1") is None


# --- migrations -----------------------------------------------------------------------------


async def test_migrate_twice_is_a_noop(backend: Backend) -> None:
    first, second = backend.open(), backend.open()
    try:
        applied = await first.migrate()
        assert await first.migrate() == []
        assert await second.migrate() == []
    finally:
        await first.close()
        await second.close()

    expected = [] if backend.name == "supabase" else SHIPPED
    assert applied == expected


async def test_sqlite_database_folder_is_created_on_migrate(tmp_path: Path) -> None:
    fresh = open_store(f"sqlite:///{tmp_path / 'data' / 'occ.db'}", None, None)
    try:
        assert await fresh.migrate() == SHIPPED
    finally:
        await fresh.close()

    assert (tmp_path / "data" / "occ.db").is_file()


async def test_replicas_starting_together_apply_each_migration_once(sql_backend: Backend) -> None:
    replicas = [sql_backend.open() for _ in range(4)]
    try:
        results = await asyncio.gather(*(replica.migrate() for replica in replicas))
        await replicas[0].ping()
    finally:
        for replica in replicas:
            await replica.close()

    assert sorted(name for applied in results for name in applied) == SHIPPED


def test_both_sql_flavours_ship_the_same_migrations() -> None:
    assert [m.name for m in migrations("postgres")] == SHIPPED
    assert [m.name for m in migrations("sqlite")] == SHIPPED


def _deploy_first_migration(backend: Backend) -> None:
    """The database as occ-bot 0001 left it, holding a pending draft whose card never posted."""
    row = codec.draft_row(make_draft("d-legacy"))
    values = (
        row["id"],
        row["conversation_id"],
        json.dumps(row["input"]),
        json.dumps(row["flags"]),
        T0.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    )
    columns = "id, conversation_id, input, flags, received_at"
    if backend.name == "sqlite":
        path = backend.database_url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            conn.executescript(migrations("sqlite")[0].sql)
            conn.execute(f"insert into drafts ({columns}) values (?, ?, ?, ?, ?)", values)
        conn.close()
        return
    with psycopg.connect(backend.database_url, autocommit=True) as conn:
        conn.execute(migrations("postgres")[0].sql)
        conn.execute(f"insert into drafts ({columns}) values (%s, %s, %s, %s, %s)", values)


async def test_database_at_0001_gets_only_0002_and_keeps_its_drafts(sql_backend: Backend) -> None:
    _deploy_first_migration(sql_backend)
    upgraded = sql_backend.open()
    try:
        applied = await upgraded.migrate()
        again = await upgraded.migrate()
        unposted = await upgraded.unposted_drafts(T0)
        claimed = await upgraded.claim_card_post("d-legacy", now=T0, lease_until=T0 + LEASE)
    finally:
        await upgraded.close()

    assert applied == ["0002_post_leases"]
    assert again == []
    assert unposted == ["d-legacy"]
    assert claimed == make_draft("d-legacy")


async def test_postgres_0002_pasted_twice_is_harmless(pg_schema_url: str) -> None:
    # What a Supabase user does in the SQL editor: paste each file, maybe more than once.
    with psycopg.connect(pg_schema_url, autocommit=True) as conn:
        for migration in migrations("postgres"):
            conn.execute(migration.sql)
        conn.execute(migrations("postgres")[1].sql)
    store = open_store(pg_schema_url, None, None)
    try:
        assert await store.migrate() == []
        await stored_draft(store, "d-1")
        assert await store.claim_card_post("d-1", now=T0, lease_until=T0 + LEASE) is not None
    finally:
        await store.close()


async def test_supabase_at_0001_is_told_to_apply_0002_and_then_works() -> None:
    first, second = migrations("postgres")
    standin = PostgrestStandin(api_key="key", schema_sql=first.sql)
    with serving(standin) as url:
        rest = SupabaseStore(url, "key")
        try:
            await stored_draft(rest, "d-legacy")
            with pytest.raises(SchemaNotApplied, match="0002_post_leases"):
                await rest.migrate()
            standin.apply_sql(second.sql)
            standin.apply_sql(second.sql)  # pasted twice
            assert await rest.migrate() == []
            assert await rest.unposted_drafts(T0) == ["d-legacy"]
            claimed = await rest.claim_card_post("d-legacy", now=T0, lease_until=T0 + LEASE)
        finally:
            await rest.close()

    assert claimed == make_draft("d-legacy")


# --- PostgreSQL: several replicas on one database ------------------------------------------


async def test_two_postgres_replicas_agree_on_one_decision(pg_schema_url: str) -> None:
    replicas = [open_store(pg_schema_url, None, None) for _ in range(2)]
    try:
        await replicas[0].migrate()
        await stored_draft(replicas[0], "d-1")
        results = await asyncio.gather(
            *(
                replica.decide(
                    "d-1",
                    approval(actor=f"U{n}"),
                    reply_status=ReplyStatus.QUEUED,
                    log=entry("d-1", Action.DRAFT_APPROVED, actor=f"U{n}"),
                )
                for n in range(10)
                for replica in replicas
            )
        )
        claims = await asyncio.gather(
            *(
                replica.claim_reply("d-1", now=T0, lease_until=T0 + LEASE)
                for _ in range(5)
                for replica in replicas
            )
        )
        logged = await replicas[1].entries(subject_id="d-1")
    finally:
        for replica in replicas:
            await replica.close()

    assert sum(r is not None for r in results) == 1
    assert sum(c is not None for c in claims) == 1
    assert [str(e.action) for e in logged] == ["draft.received", "draft.approved"]


async def test_supabase_style_connection_string_is_accepted(postgres_base_url: str) -> None:
    # Supabase hands out postgres://…?sslmode=require; the scheme and query must pass through.
    url = postgres_base_url.replace("postgresql://", "postgres://", 1) + "?sslmode=prefer"
    supabase_like = open_store(url, None, None)
    try:
        await supabase_like.ping()
    finally:
        await supabase_like.close()


def test_database_urls_map_to_async_drivers() -> None:
    supabase = "postgres://postgres.ref:pw@aws-0.pooler.supabase.com:6543/postgres?sslmode=require"
    assert async_url(supabase) == (
        "postgresql+psycopg://postgres.ref:pw@aws-0.pooler.supabase.com:6543/postgres"
        "?sslmode=require"
    )
    assert async_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert async_url("sqlite:///./occ.db") == "sqlite+aiosqlite:///./occ.db"
    with pytest.raises(ValueError, match="DATABASE_URL"):
        async_url("mysql://u@h/db")


async def test_open_store_prefers_database_url_then_supabase(tmp_path: Path) -> None:
    sql_store = open_store(f"sqlite:///{tmp_path / 'a.db'}", "https://x.supabase.co", "key")
    rest_store = open_store(None, "https://x.supabase.co", "key")
    try:
        assert isinstance(sql_store, SqlStore)
        assert isinstance(rest_store, SupabaseStore)
        with pytest.raises(ValueError, match="SUPABASE"):
            open_store(None, "https://x.supabase.co", None)
    finally:
        await sql_store.close()
        await rest_store.close()


# --- Supabase: the wire --------------------------------------------------------------------


async def test_supabase_decision_is_one_conditional_patch_then_the_log_insert(
    postgrest: RestServer,
) -> None:
    standin = postgrest.standin
    rest = postgrest.open()
    try:
        await stored_draft(rest, "d-1")
        standin.requests.clear()
        won = await rest.decide(
            "d-1", approval(), reply_status=ReplyStatus.QUEUED, log=entry("d-1", "draft.approved")
        )
        after_win = list(standin.requests)
        standin.requests.clear()
        lost = await rest.decide(
            "d-1", approval(), reply_status=ReplyStatus.QUEUED, log=entry("d-1", "draft.approved")
        )
    finally:
        await rest.close()

    assert won is not None and lost is None
    patch, log_insert = after_win
    assert (patch.method, patch.path) == ("PATCH", "/rest/v1/drafts")
    assert ("id", "eq.d-1") in patch.query
    assert ("state", "eq.pending") in patch.query
    assert "return=representation" in patch.headers["prefer"]
    assert patch.headers["apikey"] == postgrest.key
    assert patch.headers["authorization"] == f"Bearer {postgrest.key}"
    assert patch.body["state"] == "approved"
    assert patch.body["decided_by"] == "U0APPROVER"
    assert (log_insert.method, log_insert.path) == ("POST", "/rest/v1/decision_log")
    assert ("on_conflict", "id") in log_insert.query
    assert "resolution=ignore-duplicates" in log_insert.headers["prefer"]
    assert [(r.method, r.path) for r in standin.requests] == [("PATCH", "/rest/v1/drafts")]


async def test_supabase_repeat_delivery_is_an_ignore_duplicates_insert(
    postgrest: RestServer,
) -> None:
    standin = postgrest.standin
    rest = postgrest.open()
    try:
        await rest.add_draft(make_draft("d-1", external_id="ext-1"), entry("d-1"))
        standin.requests.clear()
        _, created = await rest.add_draft(make_draft("d-2", external_id="ext-1"), entry("d-2"))
    finally:
        await rest.close()

    assert not created
    insert = standin.requests[0]
    assert (insert.method, insert.path) == ("POST", "/rest/v1/drafts")
    assert ("on_conflict", "external_id") in insert.query
    assert "resolution=ignore-duplicates" in insert.headers["prefer"]
    assert not any(
        r.path == "/rest/v1/decision_log" and r.method == "POST" for r in standin.requests
    )


async def test_supabase_log_insert_is_retried_after_a_transient_error(
    postgrest: RestServer,
) -> None:
    standin = postgrest.standin
    waits: list[float] = []

    async def record_wait(seconds: float) -> None:
        waits.append(seconds)

    rest = postgrest.open(sleep=record_wait)
    try:
        await stored_draft(rest, "d-1")
        standin.fail_next("POST", "decision_log", times=2, status=503)
        decided = await rest.decide(
            "d-1", approval(), reply_status=ReplyStatus.QUEUED, log=entry("d-1", "draft.approved")
        )
        logged = await rest.entries(subject_id="d-1")
    finally:
        await rest.close()

    assert decided is not None
    assert [str(e.action) for e in logged] == ["draft.received", "draft.approved"]
    assert len(waits) == 2


async def test_supabase_post_claim_is_one_conditional_patch(postgrest: RestServer) -> None:
    standin = postgrest.standin
    rest = postgrest.open()
    try:
        escalation = await escalated_draft(rest, "d-1")
        await stored_draft(rest, "d-2")
        standin.requests.clear()
        await rest.claim_card_post("d-2", now=T0, lease_until=T0 + LEASE)
        await rest.claim_escalation_post(escalation.id, now=T0, lease_until=T0 + LEASE)
    finally:
        await rest.close()

    card_claim, message_claim = standin.requests
    assert (card_claim.method, card_claim.path) == ("PATCH", "/rest/v1/drafts")
    assert ("id", "eq.d-2") in card_claim.query
    assert ("card_channel", "is.null") in card_claim.query
    assert (
        "or",
        "(card_lease_until.is.null,card_lease_until.lt.2025-03-14T09:30:12.345678Z)",
    ) in card_claim.query
    assert card_claim.body == {"card_lease_until": "2025-03-14T09:32:12.345678+00:00"}
    assert (message_claim.method, message_claim.path) == ("PATCH", "/rest/v1/escalations")
    assert ("message_channel", "is.null") in message_claim.query
    assert (
        "or",
        "(message_lease_until.is.null,message_lease_until.lt.2025-03-14T09:30:12.345678Z)",
    ) in message_claim.query


async def test_supabase_without_schema_says_how_to_apply_it() -> None:
    standin = PostgrestStandin(api_key="key")
    with serving(standin) as url:
        rest = SupabaseStore(url, "key")
        try:
            with pytest.raises(SchemaNotApplied, match="SQL editor"):
                await rest.migrate()
        finally:
            await rest.close()


async def test_supabase_queue_summary_asks_for_counts_not_rows(postgrest: RestServer) -> None:
    standin = postgrest.standin
    rest = postgrest.open()
    try:
        for name in ("d-1", "d-2", "d-3"):
            await approved_draft(rest, name)
        await stored_draft(rest, "d-pending", at=T0 - timedelta(hours=1))
        standin.requests.clear()
        summary = await rest.queue_summary(T0)
    finally:
        await rest.close()

    assert (summary.pending, summary.replies_in_flight) == (1, 3)
    assert summary.oldest_pending_at == T0 - timedelta(hours=1)
    assert len(standin.requests) == 5
    for request in standin.requests:
        assert "count=exact" in request.headers["prefer"]
        assert ("limit", "1") in request.query
    heads = [r for r in standin.requests if r.method == "HEAD"]
    [oldest] = [r for r in standin.requests if r.method == "GET"]
    assert len(heads) == 4
    assert oldest.path == "/rest/v1/drafts"
    assert ("state", "eq.pending") in oldest.query
    assert ("order", "received_at.asc") in oldest.query
    overdue = next(r for r in heads if ("state", "eq.open") in r.query)
    assert ("due_at", "lt.2025-03-14T09:30:12.345678Z") in overdue.query


async def test_postgrest_standin_answers_counts_as_postgrest_does(postgrest: RestServer) -> None:
    rest = postgrest.open()
    try:
        for name in ("d-1", "d-2", "d-3"):
            await stored_draft(rest, name)
    finally:
        await rest.close()
    auth = {"apikey": postgrest.key, "authorization": f"Bearer {postgrest.key}"}
    exact = {**auth, "prefer": "count=exact"}

    async with httpx.AsyncClient(base_url=f"{postgrest.url}/rest/v1") as http:
        page = await http.get("/drafts", params={"select": "id", "limit": "1"}, headers=exact)
        head = await http.head("/drafts", params={"select": "id", "limit": "1"}, headers=exact)
        whole = await http.get("/drafts", params={"select": "id"}, headers=exact)
        none = await http.head("/drafts", params={"id": "eq.nope"}, headers=exact)
        uncounted = await http.get("/drafts", params={"select": "id", "limit": "1"}, headers=auth)
        past_end = await http.get("/drafts", params={"offset": "5"}, headers=exact)

    assert (page.status_code, page.headers["content-range"]) == (206, "0-0/3")
    assert page.headers["preference-applied"] == "count=exact"
    assert len(page.json()) == 1
    assert (head.status_code, head.headers["content-range"], head.content) == (206, "0-0/3", b"")
    assert (whole.status_code, whole.headers["content-range"]) == (200, "0-2/3")
    assert (none.status_code, none.headers["content-range"]) == (200, "*/0")
    assert (uncounted.status_code, uncounted.headers["content-range"]) == (200, "0-0/*")
    assert past_end.status_code == 416
    assert past_end.json()["code"] == "PGRST103"
    assert past_end.json()["details"] == "An offset of 5 was requested, but there are only 3 rows."
