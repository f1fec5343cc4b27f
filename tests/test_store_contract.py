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
from postgrest import APIError

from bot.domain import (
    Action,
    Affected,
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
    Finding,
    InboundMessage,
    InboundState,
    KbSource,
    LogEntry,
    MessageKind,
    Order,
    OutboxMessage,
    Outcome,
    RejectReason,
    Reminder,
    Reply,
    ReplyStatus,
    Resolution,
    ResolutionOutcome,
    Risk,
    RiskFlag,
    RiskKind,
    SalesAlert,
    SalesFollowup,
    SalesResponse,
    Scope,
    SlackRef,
    TrainingCard,
    Trigger,
    Urgency,
)
from bot.store import NotFound, QueueSummary, SchemaNotApplied, Store, codec, open_store
from bot.store import migrate as schema_migrations
from bot.store.sql import SqlStore, async_url
from bot.store.supabase import SupabaseStore
from tests.postgrest_standin import PostgrestStandin, serving

if TYPE_CHECKING:
    from tests.store_fixtures import Backend, RestServer

pytest_plugins = ["tests.store_fixtures"]

T0 = datetime(2025, 3, 14, 9, 30, 12, 345678, tzinfo=UTC)
LEASE = timedelta(minutes=2)
SHIPPED = [
    "0001_init",
    "0002_post_leases",
    "0003_job_runs_incidents",
    "0004_rest_transactions",
    "0005_post_refusals",
    "0006_escalation_notes",
    "0007_escalation_reminders",
    "0008_resolutions_outbox",
    "0009_sales_alerts",
    "0010_data_sources",
    "0011_inbound_messages",
    "0012_decided_index",
    "0013_stats_views",
    "0014_training",
    "0015_verified_email",
    "0016_supabase_hardening",
]
LEGACY_SQL = Path(__file__).parent / "fixtures" / "legacy_schema"


def legacy_sql(flavour: str, name: str) -> str:
    """A schema file as occ-bot shipped it before Alembic (it recorded schema_migrations)."""
    return (LEGACY_SQL / flavour / f"{name}.sql").read_text(encoding="utf-8")


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


async def test_a_pending_draft_of_a_conversation_is_found_from_a_time_on(store: Store) -> None:
    await stored_draft(store, "d-old", at=T0)
    await approved_draft(store, "d-decided", at=T0 + timedelta(minutes=5))
    await stored_draft(store, "d-new", at=T0 + timedelta(minutes=10))

    found = await store.pending_draft_for_conversation(101, since=T0 + timedelta(minutes=1))
    assert found is not None and found.id == "d-new"
    assert await store.pending_draft_for_conversation(101, since=T0 + timedelta(hours=1)) is None
    assert await store.pending_draft_for_conversation(999, since=T0) is None


async def test_stored_draft_reads_back_field_for_field(store: Store) -> None:
    draft = make_draft("d-1", external_id="chatwoot-msg-8812")

    returned, created = await store.add_draft(draft, entry("d-1"))

    assert created
    assert returned == draft
    assert await store.get_draft("d-1") == draft
    assert await actions(store, "d-1") == ["draft.received"]


async def test_a_round_of_drafts_is_taken_once_and_stored_all_or_nothing(store: Store) -> None:
    practice = TrainingCard(trainee="U0TRAINEE", round="U0TRAINEE-1", scenario="demo-1")
    started = replace(entry("U0TRAINEE-1", Action.TRAINING_STARTED), id="started:U0TRAINEE-1")
    cards = [replace(make_draft(f"d-card-{n}"), training=practice) for n in range(11)]

    assert await store.start_round(started, cards, *(entry(card.id) for card in cards))
    again = [replace(make_draft("d-card-again"), training=practice)]
    assert not await store.start_round(started, again, entry("d-card-again"))

    assert len(await store.training_cards("U0TRAINEE")) == 11
    assert await actions(store, "d-card-10") == ["draft.received"]
    assert await store.get_draft("d-card-again") is None
    assert await actions(store, "d-card-again") == []
    clash = [replace(make_draft("d-card-new"), training=practice), cards[3]]  # d-card-3 exists
    other = replace(started, id="started:U0TRAINEE-2")
    with pytest.raises(Exception):  # noqa: B017 (IntegrityError in SQL, APIError over REST)
        await store.start_round(other, clash, entry("d-card-new"))
    assert await store.get_draft("d-card-new") is None
    assert await actions(store, "d-card-new") == []
    assert [e.id for e in await store.entries(subject_id="U0TRAINEE-1")] == [started.id]


async def test_training_cards_stay_out_of_every_list_of_customers_drafts(store: Store) -> None:
    """A training card has a real conversation id from the packet (101): a customer of that
    conversation must never see it superseded, queued, counted or learned from."""
    practice = TrainingCard(trainee="U0TRAINEE", round="round-1", scenario="demo-1-order-status")
    trained = replace(make_draft("d-training"), training=practice)
    await store.add_draft(trained, entry("d-training"))
    await store.decide(
        "d-training", approval("U0TRAINEE"), reply_status=ReplyStatus.NONE, log=entry("d-training")
    )
    await store.add_draft(
        replace(make_draft("d-training-2", at=T0 + timedelta(minutes=1)), training=practice),
        entry("d-training-2"),
    )
    await stored_draft(store, "d-live", at=T0 + timedelta(minutes=2))

    assert (await store.get_draft("d-training")).training == practice
    assert [d.id for d in await store.training_cards("U0TRAINEE")] == [
        "d-training",
        "d-training-2",
    ]
    assert await store.training_cards("U0SOMEONE") == []
    assert [d.id for d in await store.waiting_drafts(10)] == ["d-live"]
    assert [d.id for d in await store.drafts_awaiting_decision(101)] == ["d-live"]
    found = await store.pending_draft_for_conversation(101, since=T0)
    assert found is not None and found.id == "d-live"
    assert await store.decided_drafts(10) == []
    assert await store.sent_drafts() == []
    assert await store.decided_between(T0, T0 + timedelta(days=1), list(DecisionKind), 10) == []
    summary = await store.queue_summary(T0 + timedelta(minutes=3))
    assert summary.pending == 1
    assert summary.oldest_pending_at == T0 + timedelta(minutes=2)
    # a training card is posted (to the training channel) like any other
    assert await store.unposted_drafts(T0 + timedelta(minutes=3)) == ["d-training-2", "d-live"]


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "sqlite://"])
async def test_an_in_memory_sqlite_database_keeps_what_it_stores(url: str) -> None:
    store = open_store(url, None, None)
    try:
        await store.migrate()
        draft = make_draft("d-mem")
        await store.add_draft(draft, entry("d-mem"))
        assert await store.get_draft("d-mem") == draft  # one connection: the same database
    finally:
        await store.close()


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


async def test_a_sent_reply_the_channel_did_not_deliver_gives_up_once(store: Store) -> None:
    await approved_draft(store, "d-1")
    await store.claim_reply("d-1", now=T0, lease_until=T0 + LEASE)
    sent = Reply(status=ReplyStatus.SENT, attempts=1, message_id="9001", sent_at=T0)
    await store.finish_reply("d-1", sent, entry("d-1", Action.REPLY_SENT))

    found = await store.draft_for_reply("9001")
    other = await store.reply_undelivered("d-1", "9002", "not ours", entry("l-x"))
    undelivered = await store.reply_undelivered(
        "d-1", "9001", "131047: Re-engagement message", entry("d-1", Action.REPLY_FAILED)
    )
    again = await store.reply_undelivered("d-1", "9001", "again", entry("l-y"))

    assert found is not None and found.id == "d-1"
    assert await store.draft_for_reply("9002") is None
    assert other is None and again is None
    assert undelivered is not None
    assert undelivered.reply.status is ReplyStatus.GAVE_UP
    assert undelivered.reply.last_error == "131047: Re-engagement message"
    assert undelivered.reply.attempts == 1 and undelivered.reply.message_id == "9001"
    assert await actions(store, "d-1") == [
        "draft.received",
        "draft.approved",
        "reply.sent",
        "reply.failed",
    ]
    later = T0 + timedelta(hours=1)
    retried = await store.claim_reply("d-1", now=later, lease_until=later + LEASE, force=True)
    assert retried is not None and retried.reply.attempts == 2


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


def reminder(escalation: Escalation, number: int = 1, *, level: int = 0) -> Reminder:
    return Reminder(
        id=f"{escalation.id}/r{number}-{uuid.uuid4().hex[:6]}",
        escalation_id=escalation.id,
        number=number,
        level=level,
        notify="managers",
        due_at=escalation.due_at,
        created_at=T0,
    )


async def test_reminders_fall_due_and_each_round_is_taken_once(store: Store) -> None:
    escalation = await escalated_draft(store, "d-1", due_at=T0)
    await escalated_draft(store, "d-2", due_at=T0 + timedelta(hours=1))
    next_round = T0 + timedelta(minutes=15)

    assert await store.due_reminders(T0 - timedelta(seconds=1)) == []
    assert await store.due_reminders(T0) == [escalation.id]
    results = await asyncio.gather(
        *(
            store.take_reminder(
                reminder(escalation),
                expected_count=0,
                next_reminder_at=next_round,
                logs=(entry(escalation.id, Action.ESCALATION_STEPPED_UP),),
            )
            for _ in range(10)
        )
    )

    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert await store.reminders_of(escalation.id) == winners
    stored = await store.get_escalation(escalation.id)
    assert stored.reminders_sent == 1 and stored.next_reminder_at == next_round
    assert await actions(store, escalation.id) == ["escalation.stepped_up"]
    assert await store.due_reminders(T0 + timedelta(minutes=14)) == []
    assert await store.due_reminders(next_round) == [escalation.id]


async def test_claimed_escalation_gets_no_reminders(store: Store) -> None:
    escalation = await escalated_draft(store, "d-1", due_at=T0)
    claimed = entry(escalation.id, Action.ESCALATION_CLAIMED)
    await store.claim_escalation(
        escalation.id, actor="UMGR", now=T0, next_reminder_at=None, log=claimed
    )

    assert await store.due_reminders(T0 + timedelta(hours=1)) == []
    taken = await store.take_reminder(
        reminder(escalation), expected_count=0, next_reminder_at=T0, logs=(entry(escalation.id),)
    )
    assert taken is None
    assert await store.reminders_of(escalation.id) == []
    assert await actions(store, escalation.id) == ["escalation.claimed"]


async def test_a_taken_reminder_is_posted_once_then_no_longer_offered(store: Store) -> None:
    escalation = await escalated_draft(store, "d-1", due_at=T0)
    taken = await store.take_reminder(
        reminder(escalation), expected_count=0, next_reminder_at=T0 + LEASE
    )
    assert taken is not None
    assert await store.unposted_reminders(T0) == [taken.id]

    claims = await asyncio.gather(
        *(store.claim_reminder_post(taken.id, now=T0, lease_until=T0 + LEASE) for _ in range(8))
    )
    [claim] = [c for c in claims if c is not None]
    assert claim.attempts == 1  # the first post: nothing to look for in Slack
    assert await store.unposted_reminders(T0) == []  # being posted
    message = SlackRef(channel="C0ESC", ts="1700000000.000200")
    late = await store.record_reminder(
        taken.id, message, (entry(escalation.id),), lease_until=T0 + LEASE + LEASE
    )
    assert late is None  # not the lease it holds: nothing recorded
    recorded = await store.record_reminder(
        taken.id,
        message,
        (entry(escalation.id, Action.ESCALATION_REMINDED),),
        lease_until=T0 + LEASE,
    )

    assert recorded is not None and recorded.message == message
    assert await store.get_reminder(taken.id) == recorded
    assert await store.unposted_reminders(T0 + 2 * LEASE) == []
    assert await actions(store, escalation.id) == ["escalation.reminded"]


async def test_an_unposted_reminder_comes_back_after_its_lease_unless_skipped(
    store: Store,
) -> None:
    escalation = await escalated_draft(store, "d-1", due_at=T0)
    first = await store.take_reminder(
        reminder(escalation), expected_count=0, next_reminder_at=T0 + LEASE
    )
    second = await store.take_reminder(
        reminder(escalation, 2), expected_count=1, next_reminder_at=T0 + 2 * LEASE
    )
    assert first is not None and second is not None
    await store.claim_reminder_post(first.id, now=T0, lease_until=T0 + LEASE)

    assert await store.unposted_reminders(T0) == [second.id]
    assert await store.unposted_reminders(T0 + LEASE + timedelta(seconds=1)) == [
        first.id,
        second.id,
    ]
    await store.skip_reminder(first.id, now=T0)
    assert await store.unposted_reminders(T0 + 2 * LEASE) == [second.id]
    later = T0 + 2 * LEASE
    assert await store.claim_reminder_post(first.id, now=later, lease_until=later + LEASE) is None
    again = await store.claim_reminder_post(second.id, now=later, lease_until=later + LEASE)
    assert again is not None and again.attempts == 1
    after = later + 2 * LEASE
    retried = await store.claim_reminder_post(second.id, now=after, lease_until=after + LEASE)
    assert retried is not None and retried.attempts == 2  # an earlier attempt may have posted


def outbox_message(escalation: Escalation, kind: MessageKind, delivery: Reply) -> OutboxMessage:
    return OutboxMessage(
        id=f"out-{kind.value}-{uuid.uuid4().hex[:6]}",
        subject_id=escalation.id,
        conversation_id=101,
        kind=kind,
        content="We refunded the duplicate charges.",
        action=Action.ESCALATION_REPLIED.value,
        actor="UMGR",
        created_at=T0,
        delivery=delivery,
    )


async def test_a_resolution_stores_its_outcome_and_queues_its_messages_together(
    store: Store,
) -> None:
    escalation = await escalated_draft(store, "d-1", due_at=T0)
    resolution = Resolution(
        ResolutionOutcome.REFUND, "Refunded twice", 59.98, "We refunded you.", "Check Shopify"
    )
    leased = Reply(status=ReplyStatus.SENDING, attempts=1, lease_until=T0 + LEASE)
    messages = [
        outbox_message(escalation, MessageKind.REPLY, leased),
        outbox_message(escalation, MessageKind.NOTE, Reply(status=ReplyStatus.QUEUED)),
    ]

    resolved = await store.resolve_escalation(
        escalation.id,
        actor="UMGR",
        now=T0,
        log=entry(escalation.id, Action.ESCALATION_RESOLVED),
        resolution=resolution,
        messages=messages,
    )
    again = await store.resolve_escalation(
        escalation.id,
        actor="UMGR",
        now=T0,
        log=entry(escalation.id, Action.ESCALATION_RESOLVED),
        messages=[outbox_message(escalation, MessageKind.NOTE, Reply())],
    )

    assert resolved is not None and resolved.resolution == resolution
    assert again is None
    assert await store.outbox_for(escalation.id) == sorted(messages, key=lambda m: m.id)
    assert await actions(store, escalation.id) == ["escalation.resolved"]
    assert await store.due_outbox_messages(T0) == [messages[1].id]  # the reply is leased
    assert await store.due_outbox_messages(T0 + LEASE + timedelta(seconds=1)) == sorted(
        m.id for m in messages
    )


async def test_an_outbox_message_is_taken_by_one_worker_and_finished_by_its_attempt_only(
    store: Store,
) -> None:
    escalation = await escalated_draft(store, "d-1", due_at=T0)
    queued = outbox_message(escalation, MessageKind.NOTE, Reply(status=ReplyStatus.QUEUED))
    await store.resolve_escalation(
        escalation.id, actor="UMGR", now=T0, log=entry(escalation.id), messages=[queued]
    )

    claims = await asyncio.gather(
        *(store.claim_outbox_message(queued.id, now=T0, lease_until=T0 + LEASE) for _ in range(8))
    )
    [taken] = [c for c in claims if c is not None]
    assert taken.delivery.status is ReplyStatus.SENDING and taken.delivery.attempts == 1
    stale = Reply(status=ReplyStatus.SENT, attempts=2, message_id="9", sent_at=T0)
    assert await store.finish_outbox_message(queued.id, stale, entry(escalation.id)) is None
    sent = Reply(status=ReplyStatus.SENT, attempts=1, message_id="9", sent_at=T0)
    done = await store.finish_outbox_message(
        queued.id, sent, entry(escalation.id, Action.ESCALATION_REPLIED)
    )

    assert done is not None and done.delivery == sent
    assert await store.get_outbox_message(queued.id) == done
    assert await store.due_outbox_messages(T0 + 2 * LEASE) == []
    assert "escalation.replied" in await actions(store, escalation.id)


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


async def test_entries_filter_by_scope_action_and_actor(store: Store) -> None:
    rows = [
        replace(entry("d-1", Action.DRAFT_APPROVED, actor="U0A"), scope=Scope.TRAINING),
        replace(entry("d-2", Action.DRAFT_REJECTED, actor="U0B"), scope=Scope.TRAINING),
        replace(entry("d-3", Action.DRAFT_POSTED, actor="U0A"), scope=Scope.TRAINING),
        entry("d-4", Action.DRAFT_APPROVED, actor="U0A"),
    ]
    for row in rows:
        await store.log(row)

    decisions = (Action.DRAFT_APPROVED, Action.DRAFT_REJECTED)
    training = await store.entries(scope=Scope.TRAINING, actions=decisions)
    theirs = await store.entries(scope=Scope.TRAINING, actions=decisions, actor="U0A")

    assert [e.subject_id for e in training] == ["d-1", "d-2"]
    assert [e.subject_id for e in theirs] == ["d-1"]
    assert [e.subject_id for e in await store.entries(scope=Scope.CX)] == ["d-4"]


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


def test_the_shipped_revisions_are_the_expected_ones() -> None:
    assert schema_migrations.revisions() == SHIPPED


@pytest.mark.parametrize("flavour", ["postgres", "sqlite"])
def test_the_migrated_database_is_the_schema_defined_in_schema_py(
    flavour: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine

    from bot.store.schema import metadata

    if flavour == "postgres":
        url = request.getfixturevalue("pg_schema_url").replace(
            "postgresql://", "postgresql+psycopg://"
        )
    else:
        url = f"sqlite:///{tmp_path / 'occ.db'}"
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            schema_migrations.upgrade(conn)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()

    # SQLite's decision_log keeps its rowid as `seq` (the primary key) and a unique `id`.
    if flavour == "sqlite":
        differences = [
            d
            for d in differences
            if not (d[0] == "remove_constraint" and d[1].table.name == "decision_log")
        ]
    assert differences == []


def test_the_supabase_sql_files_are_the_migrations_rendered_for_postgres() -> None:
    shipped = {
        path.name: path.read_text(encoding="utf-8")
        for path in schema_migrations.SUPABASE_SQL.glob("*.sql")
    }
    assert shipped == schema_migrations.supabase_files(), (
        "regenerate them: python -m bot.store.migrate --write-supabase"
    )


def _deploy_first_migration(backend: Backend) -> None:
    """The database as occ-bot's first release left it, holding a pending draft whose card
    never posted."""
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
            conn.executescript(legacy_sql("sqlite", "0001_init"))
            conn.execute(f"insert into drafts ({columns}) values (?, ?, ?, ?, ?)", values)
        conn.close()
        return
    with psycopg.connect(backend.database_url, autocommit=True) as conn:
        conn.execute(legacy_sql("postgres", "0001_init"))
        conn.execute(f"insert into drafts ({columns}) values (%s, %s, %s, %s, %s)", values)


async def test_a_database_from_the_first_release_is_upgraded_and_keeps_its_drafts(
    sql_backend: Backend,
) -> None:
    _deploy_first_migration(sql_backend)
    upgraded = sql_backend.open()
    try:
        applied = await upgraded.migrate()
        again = await upgraded.migrate()
        unposted = await upgraded.unposted_drafts(T0)
        claimed = await upgraded.claim_card_post("d-legacy", now=T0, lease_until=T0 + LEASE)
    finally:
        await upgraded.close()

    assert applied == SHIPPED[1:]
    assert again == []
    assert unposted == ["d-legacy"]
    assert claimed == make_draft("d-legacy")


async def test_postgres_set_up_from_the_old_sql_files_pasted_twice_upgrades(
    pg_schema_url: str,
) -> None:
    # What a Supabase user did in the SQL editor: paste each file, maybe more than once.
    with psycopg.connect(pg_schema_url, autocommit=True) as conn:
        for name in ("0001_init", "0002_post_leases", "0002_post_leases"):
            conn.execute(legacy_sql("postgres", name))
    store = open_store(pg_schema_url, None, None)
    try:
        assert await store.migrate() == SHIPPED[2:]
        await stored_draft(store, "d-1")
        assert await store.claim_card_post("d-1", now=T0, lease_until=T0 + LEASE) is not None
    finally:
        await store.close()


async def test_supabase_from_the_first_release_is_told_which_files_to_paste() -> None:
    row = codec.draft_row(make_draft("d-legacy"))
    legacy_draft = (
        "insert into drafts (id, conversation_id, input, flags, received_at) values "
        f"('d-legacy', {row['conversation_id']}, '{json.dumps(row['input'])}', "
        f"'{json.dumps(row['flags'])}', '{T0.isoformat()}')"
    ).replace("\\'", "''")
    standin = PostgrestStandin(api_key="key", schema_sql=legacy_sql("postgres", "0001_init"))
    files = schema_migrations.supabase_files()
    with serving(standin) as url:
        rest = SupabaseStore(url, "key")
        try:
            standin.apply_sql(legacy_draft)
            with pytest.raises(SchemaNotApplied) as told:
                await rest.migrate()
            for name in SHIPPED[1:]:
                standin.apply_sql(files[f"{name}.sql"])
            assert await rest.migrate() == []
            assert await rest.unposted_drafts(T0) == ["d-legacy"]
            claimed = await rest.claim_card_post("d-legacy", now=T0, lease_until=T0 + LEASE)
        finally:
            await rest.close()

    message = str(told.value)
    assert ", ".join(f"bot/store/supabase/{name}.sql" for name in SHIPPED[1:]) in message
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


async def test_supabase_decision_is_one_rpc_that_writes_the_draft_and_its_log_row(
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
    [call] = after_win
    assert (call.method, call.path) == ("POST", "/rest/v1/rpc/occ_apply")
    assert call.headers["apikey"] == postgrest.key
    assert call.headers["authorization"] == f"Bearer {postgrest.key}"
    change = call.body["change"]
    assert change["first"]["kind"] == "update" and change["first"]["table"] == "drafts"
    assert {"column": "id", "op": "eq", "value": "d-1"} in change["first"]["where"]
    assert {"column": "state", "op": "eq", "value": "pending"} in change["first"]["where"]
    assert change["first"]["values"]["state"] == "approved"
    assert change["first"]["values"]["decided_by"] == "U0APPROVER"
    assert [(t["table"], t["row"]["action"]) for t in change["then"]] == [
        ("decision_log", "draft.approved")
    ]
    assert [(r.method, r.path) for r in standin.requests] == [("POST", "/rest/v1/rpc/occ_apply")]


async def test_supabase_escalation_that_fails_half_way_leaves_nothing_behind(
    postgrest: RestServer,
) -> None:
    # The draft's decision, the escalation and the log row are one transaction: if the
    # escalation cannot be written (here its id is taken) the draft is not decided either, so
    # no draft is ever marked escalated without the escalation the managers are told of.
    standin = postgrest.standin
    rest = postgrest.open()
    try:
        taken = await escalated_draft(rest, "d-taken")
        await stored_draft(rest, "d-1")
        clash = replace(make_escalation(taken.id, "d-1", due_at=T0), id=taken.id)
        decision = Decision(kind=DecisionKind.ESCALATE, actor="U0OPERATOR", at=T0)
        with pytest.raises(APIError):
            await rest.decide(
                "d-1",
                decision,
                reply_status=ReplyStatus.NONE,
                log=entry("d-1", Action.DRAFT_ESCALATED),
                escalation=clash,
            )
        after_clash = await rest.get_draft("d-1")
        standin.fail_next("POST", "rpc/occ_apply", status=503)
        with pytest.raises(APIError):
            await rest.decide(
                "d-1",
                decision,
                reply_status=ReplyStatus.NONE,
                log=entry("d-1", Action.DRAFT_ESCALATED),
                escalation=make_escalation("esc-new", "d-1", due_at=T0),
            )
        after_outage = await rest.get_draft("d-1")
        retried = await rest.decide(
            "d-1",
            decision,
            reply_status=ReplyStatus.NONE,
            log=entry("d-1", Action.DRAFT_ESCALATED),
            escalation=make_escalation("esc-new", "d-1", due_at=T0),
        )
        escalation = await rest.escalation_for_draft("d-1")
        logged = await actions(rest, "d-1")
    finally:
        await rest.close()

    assert after_clash is not None and after_clash.state is DraftState.PENDING
    assert after_outage is not None and after_outage.state is DraftState.PENDING
    assert retried is not None and retried.state is DraftState.ESCALATED
    assert escalation is not None and escalation.id == "esc-new"
    assert logged == ["draft.received", "draft.escalated"]


async def test_supabase_repeat_delivery_writes_nothing_new(postgrest: RestServer) -> None:
    standin = postgrest.standin
    rest = postgrest.open()
    try:
        await rest.add_draft(make_draft("d-1", external_id="ext-1"), entry("d-1"))
        standin.requests.clear()
        returned, created = await rest.add_draft(
            make_draft("d-2", external_id="ext-1"), entry("d-2")
        )
        logged = await rest.entries()
    finally:
        await rest.close()

    assert not created and returned.id == "d-1"
    insert = standin.requests[0]
    assert (insert.method, insert.path) == ("POST", "/rest/v1/rpc/occ_apply")
    assert insert.body["change"]["first"]["kind"] == "insert"
    assert insert.body["change"]["first"]["ignore_conflict"] is True
    assert [e.subject_id for e in logged] == ["d-1"]


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
        refused = entry("d-1", Action.DRAFT_REFUSED)
        await rest.log(refused)
        await rest.log(refused)  # the same row again: written once
        logged = await rest.entries(subject_id="d-1")
    finally:
        await rest.close()

    assert [str(e.action) for e in logged] == ["draft.received", "draft.refused"]
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
    assert len(standin.requests) == 6
    for request in standin.requests:
        assert ("limit", "1") in request.query
    heads = [r for r in standin.requests if r.method == "HEAD"]
    [oldest] = [r for r in standin.requests if r.method == "GET"]
    assert len(heads) == 5
    assert all("count=exact" in r.headers["prefer"] for r in heads)
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


async def test_postgrest_standin_runs_a_function_as_one_transaction(postgrest: RestServer) -> None:
    from postgrest import APIError
    from supabase import AsyncClientOptions, acreate_client

    postgrest.standin.apply_sql(
        """
        create table pairs (id text primary key, pair text not null);
        create function add_pair(pair_name text, refuse boolean default false)
        returns jsonb language plpgsql as $$
        begin
            insert into pairs (id, pair) values (pair_name || '-1', pair_name);
            insert into pairs (id, pair) values (pair_name || '-2', pair_name);
            if refuse then
                raise exception 'pair % refused', pair_name using errcode = 'OCC01';
            end if;
            return jsonb_build_object('pair', pair_name, 'rows', 2);
        end $$;
        """
    )
    http = httpx.AsyncClient()
    options = AsyncClientOptions(httpx_client=http, auto_refresh_token=False, persist_session=False)
    client = await acreate_client(postgrest.url, postgrest.key, options)
    try:
        added = await client.rpc("add_pair", {"pair_name": "kept"}).execute()
        with pytest.raises(APIError) as refused:
            await client.rpc("add_pair", {"pair_name": "gone", "refuse": True}).execute()
        stored = await client.table("pairs").select("id").order("id").execute()
    finally:
        await http.aclose()

    assert added.data == {"pair": "kept", "rows": 2}
    assert (refused.value.code, refused.value.message) == ("OCC01", "pair gone refused")
    assert [row["id"] for row in stored.data] == ["kept-1", "kept-2"]
    calls = [r for r in postgrest.standin.requests if r.path == "/rest/v1/rpc/add_pair"]
    assert [(r.method, r.body) for r in calls] == [
        ("POST", {"pair_name": "kept"}),
        ("POST", {"pair_name": "gone", "refuse": True}),
    ]


# --- Sales Pulse alerts --------------------------------------------------------------------


def sales_alert(alert_id: str, condition: str = "fulfillment_delay", severity: float = 3.0):
    finding = Finding(
        trigger=Trigger.FULFILLMENT_DELAY,
        condition=condition,
        metric="Paid orders unfulfilled",
        value=severity,
        baseline=None,
        threshold="paid and unfulfilled for more than 24 h",
        severity=severity,
        unit="orders",
        trend=(1.0, 2.0),
        affected=(Affected("#1001", "$84.00", "https://x/admin/orders/1", "a@example.com"),),
        affected_total=3,
    )
    return SalesAlert(id=alert_id, finding=finding, opened_at=T0)


async def test_one_of_twenty_concurrent_alerts_of_a_condition_opens(store: Store) -> None:
    opened = await asyncio.gather(
        *(
            store.open_sales_alert(sales_alert(f"sa-{i}"), entry(f"sa-{i}", Action.SALES_ALERT))
            for i in range(20)
        )
    )
    winners = [alert for alert in opened if alert is not None]
    assert len(winners) == 1
    [open_alert] = await store.open_sales_alerts()
    assert open_alert == winners[0]  # the finding reads back field for field
    assert await actions(store, open_alert.id) == ["sales.alert"]
    other = await store.open_sales_alert(
        sales_alert("sa-other", "low_stock:SKU-1"), entry("sa-other", Action.SALES_ALERT)
    )
    assert other is not None and len(await store.open_sales_alerts()) == 2


async def test_a_worse_alert_supersedes_the_open_one_once(store: Store) -> None:
    first = sales_alert("sa-1")
    await store.open_sales_alert(first, entry("sa-1", Action.SALES_ALERT))
    results = await asyncio.gather(
        *(
            store.supersede_sales_alert(
                "sa-1", sales_alert(f"sa-w{i}", severity=9.0), entry(f"sa-w{i}", Action.SALES_ALERT)
            )
            for i in range(5)
        )
    )
    assert sum(r is not None for r in results) == 1
    [open_alert] = await store.open_sales_alerts()
    assert open_alert.finding.severity == 9.0
    superseded = await store.get_sales_alert("sa-1")
    assert superseded is not None and superseded.superseded_by == open_alert.id


async def test_a_cleared_alert_closes_once_and_its_condition_can_alert_again(store: Store) -> None:
    await store.open_sales_alert(sales_alert("sa-1"), entry("sa-1", Action.SALES_ALERT))
    later = T0 + timedelta(hours=1)
    cleared = await asyncio.gather(
        *(
            store.clear_sales_alert("sa-1", now=later, log=entry("sa-1", "sales.cleared"))
            for _ in range(5)
        )
    )
    assert sum(c is not None for c in cleared) == 1
    assert await store.open_sales_alerts() == []
    again = await store.open_sales_alert(sales_alert("sa-2"), entry("sa-2", Action.SALES_ALERT))
    assert again is not None


async def test_an_alert_and_its_clearing_note_are_each_posted_once(store: Store) -> None:
    await store.open_sales_alert(sales_alert("sa-1"), entry("sa-1", Action.SALES_ALERT))
    lease = T0 + timedelta(minutes=5)
    claims = await asyncio.gather(
        *(store.claim_sales_post("sa-1", "message", now=T0, lease_until=lease) for _ in range(10))
    )
    assert sum(c is not None for c in claims) == 1
    assert await store.claim_sales_post("sa-1", "clear", now=T0, lease_until=lease) is None
    posted = await store.record_sales_post(
        "sa-1", "message", SlackRef("C1", "1.1"), [], lease_until=lease
    )
    assert posted is not None and posted.message == SlackRef("C1", "1.1")
    assert await store.unposted_sales_alerts(T0 + timedelta(hours=1)) == []
    await store.clear_sales_alert("sa-1", now=T0, log=entry("sa-1", "sales.cleared"))
    assert await store.unposted_sales_alerts(T0) == ["sa-1"]  # its clearing note
    assert await store.claim_sales_post("sa-1", "clear", now=T0, lease_until=lease) is not None
    await store.record_sales_post("sa-1", "clear", SlackRef("C1", "2.2"), [], lease_until=lease)
    done = await store.get_sales_alert("sa-1")
    assert done is not None and done.clear_message == SlackRef("C1", "2.2")
    assert await store.unposted_sales_alerts(T0 + timedelta(hours=1)) == []


async def test_each_response_to_an_alert_is_recorded_once(store: Store) -> None:
    await store.open_sales_alert(sales_alert("sa-1"), entry("sa-1", Action.SALES_ALERT))
    acks = await asyncio.gather(
        *(
            store.respond_to_sales_alert(
                "sa-1",
                SalesResponse("acknowledged", f"U{i}", T0, {"n": i}),
                entry("sa-1", Action.SALES_ACKNOWLEDGED),
            )
            for i in range(10)
        )
    )
    assert sum(a is not None for a in acks) == 1
    await store.respond_to_sales_alert(
        "sa-1", SalesResponse("manager_paged", "U9", T0), entry("sa-1", "sales.manager_paged")
    )
    alert = await store.get_sales_alert("sa-1")
    assert alert is not None
    assert [r.kind for r in alert.responses] == ["acknowledged", "manager_paged"]
    assert await actions(store, "sa-1") == [
        "sales.alert",
        "sales.acknowledged",
        "sales.manager_paged",
    ]


async def test_a_due_followup_is_reminded_once(store: Store) -> None:
    await store.open_sales_alert(sales_alert("sa-1"), entry("sa-1", Action.SALES_ALERT))
    due = T0 + timedelta(days=1)
    followup = SalesFollowup("fu-1", "sa-1", "U0OWNER", due, "Call the agency", "U0OP", T0)
    await store.add_followup(followup, entry("sa-1", Action.SALES_FOLLOWUP))
    assert await store.due_followups(T0) == []
    assert await store.due_followups(due) == [followup]
    taken = await asyncio.gather(
        *(
            store.take_followup_reminder("fu-1", now=due, log=entry("fu-1", "sales.followup_due"))
            for _ in range(5)
        )
    )
    assert sum(t is not None for t in taken) == 1
    assert await store.due_followups(due + timedelta(days=1)) == []
    assert [f.reminded_at for f in await store.followups_of("sa-1")] == [due]


async def test_a_data_source_keeps_its_last_good_read_and_its_last_error(store: Store) -> None:
    assert await store.data_sources() == []
    await store.record_read("shopify", at=T0, error="HTTP 503")
    await store.record_read("shopify", at=T0 + timedelta(minutes=5))
    await store.record_read("shopify", at=T0 + timedelta(minutes=10), error="timed out")
    await store.record_read("chatwoot", at=T0)
    chatwoot, shopify = await store.data_sources()
    assert (shopify.first_tried_at, shopify.last_ok_at) == (T0, T0 + timedelta(minutes=5))
    assert (shopify.last_error, shopify.last_error_at) == ("timed out", T0 + timedelta(minutes=10))
    assert (chatwoot.last_ok_at, chatwoot.last_error) == (T0, None)


async def test_a_late_report_of_an_older_read_does_not_move_freshness_back(store: Store) -> None:
    await store.record_read("shopify", at=T0 + timedelta(minutes=10))
    await store.record_read("shopify", at=T0 + timedelta(minutes=5))  # a slow, older run
    [shopify] = await store.data_sources()
    assert shopify.last_ok_at == T0 + timedelta(minutes=10)


# --- inbound messages and the drafting lease --------------------------------------------------


def inbound(message_id: int, *, conversation_id: int = 101, at: datetime = T0) -> InboundMessage:
    return InboundMessage(
        id=f"chatwoot-msg-{message_id}",
        conversation_id=conversation_id,
        message_id=message_id,
        content=f"message {message_id} — où est mon colis? 📦",
        customer_name="Susan Martinez",
        customer_email="susan@example.com",
        received_at=at,
    )


async def test_a_message_is_stored_once_and_waits_for_its_draft(store: Store) -> None:
    assert await store.add_inbound(inbound(7)) is True
    assert await store.add_inbound(inbound(7)) is False
    await store.add_inbound(inbound(9, conversation_id=202, at=T0 + timedelta(seconds=5)))
    [stored] = await store.inbound_messages(101)
    assert stored == inbound(7)
    assert await store.conversations_waiting(T0 + timedelta(seconds=1)) == [101]
    assert await store.conversations_waiting(T0 + timedelta(seconds=6)) == [101, 202]


async def test_one_drafter_at_a_time_holds_a_conversation(store: Store) -> None:
    now = T0
    claims = await asyncio.gather(
        *(store.claim_drafting(101, now=now, lease_until=now + LEASE) for _ in range(5))
    )
    assert claims.count(0) == 1 and claims.count(None) == 4
    assert await store.claim_drafting(202, now=now, lease_until=now + LEASE) == 0
    later = now + LEASE + timedelta(seconds=1)  # a lease that ran out is free again
    assert await store.claim_drafting(101, now=later, lease_until=later + LEASE) == 0


async def test_a_draft_is_stored_only_while_its_drafter_holds_the_lease(store: Store) -> None:
    first = T0 + LEASE
    await store.claim_drafting(101, now=T0, lease_until=first)
    later = first + timedelta(seconds=1)
    await store.claim_drafting(101, now=later, lease_until=later + LEASE)  # took over
    late = make_draft("d-late", external_id="chatwoot-msg-7")
    assert await store.store_conversation_draft(late, [entry("d-late")], lease_until=first) is False
    assert await store.get_draft("d-late") is None and await store.entries() == []
    fresh = make_draft("d-fresh", external_id="chatwoot-msg-7")
    stored = await store.store_conversation_draft(
        fresh, [entry("d-fresh")], lease_until=later + LEASE
    )
    assert stored is True and await store.get_draft("d-fresh") == fresh


async def test_a_superseded_draft_can_no_longer_be_decided(store: Store) -> None:
    await store.add_draft(make_draft("d-old"))
    await store.add_draft(make_draft("d-new", at=T0 + timedelta(minutes=1)))
    outcomes = await asyncio.gather(
        store.supersede("d-old", by="d-new", at=T0, log=entry("d-old", Action.DRAFT_SUPERSEDED)),
        store.decide(
            "d-old", approval(), reply_status=ReplyStatus.QUEUED, log=entry("d-old", "x.y")
        ),
    )
    assert sum(outcome is not None for outcome in outcomes) == 1  # one or the other, never both
    old = await store.get_draft("d-old")
    assert old is not None
    if outcomes[0] is not None:
        assert old.state is DraftState.SUPERSEDED and old.superseded_by == "d-new"
        assert [d.id for d in await store.drafts_awaiting_decision(101)] == ["d-new"]
        assert (await store.queue_summary(T0)).pending == 1
        assert await store.claim_card_post("d-old", now=T0, lease_until=T0 + LEASE) is None
        assert await store.unposted_drafts(T0) == ["d-new"]
    else:
        assert old.state is DraftState.APPROVED and old.superseded_by is None


async def test_a_newer_draft_takes_over_the_messages_of_the_one_it_supersedes(store: Store) -> None:
    for message_id in (7, 8, 9):
        await store.add_inbound(inbound(message_id))
    await store.add_inbound(inbound(50, conversation_id=202))
    await store.assign_messages(["chatwoot-msg-7", "chatwoot-msg-8"], "d-old")
    unanswered = await store.unanswered_messages(101, ["d-old"])
    assert [m.message_id for m in unanswered] == [7, 8, 9]
    assert [m.message_id for m in await store.unanswered_messages(101, [])] == [9]
    await store.assign_messages([m.id for m in unanswered], "d-new")
    assert {(m.message_id, m.draft_id, m.state) for m in await store.inbound_messages(101)} == {
        (7, "d-new", InboundState.DRAFTED),
        (8, "d-new", InboundState.DRAFTED),
        (9, "d-new", InboundState.DRAFTED),
    }
    assert await store.conversations_waiting(T0 + timedelta(seconds=1)) == [202]


async def test_failed_tries_back_off_and_then_give_up_visibly(store: Store) -> None:
    await store.add_inbound(inbound(6))
    await store.add_inbound(inbound(7))
    lease = T0 + LEASE
    await store.claim_drafting(101, now=T0, lease_until=lease)
    retry_at = T0 + timedelta(minutes=1)
    failures = await store.drafting_failed(101, lease_until=lease, error="boom", retry_at=retry_at)
    assert failures == 1
    assert await store.claim_drafting(101, now=T0, lease_until=lease) is None  # backing off
    assert await store.claim_drafting(101, now=retry_at, lease_until=retry_at + LEASE) == 1
    again = await store.drafting_failed(
        101, lease_until=retry_at + LEASE, error="boom", retry_at=retry_at
    )
    assert again == 2
    both = ["chatwoot-msg-6", "chatwoot-msg-7"]
    log = entry("chatwoot-msg-7", Action.DRAFT_FAILED)
    assert await store.give_up_drafting(101, both, error="boom", log=log) is True
    assert await store.give_up_drafting(101, both, error="boom", log=log) is False  # done
    messages = await store.inbound_messages(101)
    assert {(m.state, m.error) for m in messages} == {(InboundState.FAILED, "boom")}
    assert [e.action for e in await store.entries()] == ["draft.failed"]  # one row, not two
    assert await store.conversations_waiting(T0 + timedelta(days=1)) == []
    assert [m.message_id for m in await store.unanswered_messages(101, [])] == [6, 7]


async def test_recent_decisions_come_newest_first_and_sent_ones_oldest_first(store: Store) -> None:
    for n in range(4):
        await store.add_draft(make_draft(f"d-{n}", at=T0 + timedelta(minutes=n)))
    kinds = [DecisionKind.EDIT, DecisionKind.REJECT, DecisionKind.APPROVE]
    for n, kind in enumerate(kinds):
        decision = Decision(kind=kind, actor="U0OP", at=T0 + timedelta(hours=n), final_text="Hi!")
        status = ReplyStatus.NONE if kind is DecisionKind.REJECT else ReplyStatus.QUEUED
        await store.decide(f"d-{n}", decision, reply_status=status, log=entry(f"d-{n}", "x.y"))
    assert [d.id for d in await store.decided_drafts(2)] == ["d-2", "d-1"]
    assert [d.id for d in await store.sent_drafts()] == ["d-0", "d-2"]  # never the rejected


# --- the team's numbers -------------------------------------------------------------------


async def test_the_numbers_of_a_window_are_counted_in_sql(store: Store) -> None:
    def at(minutes: float) -> datetime:
        return T0 + timedelta(minutes=minutes)

    rows = [
        (Action.DRAFT_APPROVED, "U0A", {"waited_seconds": 60}, 1),
        (Action.DRAFT_APPROVED, "U0A", {"waited_seconds": 120}, 2),
        (Action.DRAFT_EDITED, "U0A", {"waited_seconds": 300}, 3),
        (Action.DRAFT_REJECTED, "U0B", {"waited_seconds": 30}, 4),
        (Action.DRAFT_ESCALATED, "U0B", {"waited_seconds": 600}, 5),
        (Action.DRAFT_APPROVED, "U0A", {"waited_seconds": 9}, 60 * 25),  # after the window
        (Action.DRAFT_REFUSED, "U0A", {"waited_seconds": 1}, 6),  # no decision
        (Action.ESCALATION_CLAIMED, "U0M", {"within_sla": True}, 7),
        (Action.ESCALATION_CLAIMED, "U0M", {"within_sla": False}, 8),
        (Action.CX_SLA_BREACHED, "system", {"breach": "b-1"}, 9),
        (Action.CX_SLA_BREACHED, "system", {"breach": "b-2"}, 10),
    ]
    for n, (action, actor, payload, minutes) in enumerate(rows):
        await store.log(entry(f"d-{n}", action, at=at(minutes), actor=actor, payload=payload))
    trainee = replace(
        entry("t-1", Action.DRAFT_APPROVED, at=at(11), actor="U0A", payload={"waited_seconds": 5}),
        scope=Scope.TRAINING,
    )
    await store.log(trainee)  # training never counts
    day = {"since": T0, "until": T0 + timedelta(days=1)}

    team = await store.decision_stats(**day)
    alice = await store.decision_stats(**day, actor="U0A")
    empty = await store.decision_stats(since=T0 - timedelta(days=2), until=T0)

    assert (team.approved, team.edited, team.rejected, team.escalated) == (2, 1, 1, 1)
    assert (team.median_seconds, team.p90_seconds) == (120.0, 600.0)  # of 30 60 120 300 600
    assert team.escalation_rate == 0.2
    assert (team.claims, team.claims_within_sla, team.breaches) == (2, 1, 2)
    assert (alice.decisions, alice.median_seconds, alice.p90_seconds) == (3, 120.0, 300.0)
    assert (alice.claims, alice.breaches) == (0, 2)  # breaches are the team's
    assert (empty.decisions, empty.median_seconds, empty.escalation_rate) == (0, None, None)
