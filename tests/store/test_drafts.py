"""Drafts and decisions: the store contract on SQLite, PostgreSQL and Supabase's REST API."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.domain import (
    Action,
    Decision,
    DecisionKind,
    DeliveryStatus,
    DraftState,
    RejectReason,
    SlackRef,
    TrainingCard,
)
from bot.store import NotFound, Store, open_store
from tests.store.helpers import (
    T0,
    actions,
    approval,
    approved_draft,
    draft_reply,
    entry,
    escalated_draft,
    make_draft,
    make_escalation,
    stored_draft,
)

pytest_plugins = ["tests.store_fixtures"]


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
        "d-training",
        approval("U0TRAINEE"),
        log=entry("d-training"),
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


async def test_only_one_of_twenty_concurrent_decisions_wins(store: Store) -> None:
    await stored_draft(store, "d-1")
    attempts = [
        (approval(actor=f"U{n:02d}"), entry("d-1", Action.DRAFT_APPROVED, actor=f"U{n:02d}"))
        for n in range(20)
    ]

    results = await asyncio.gather(
        *(
            store.decide("d-1", decision, log=log, messages=(draft_reply("d-1"),))
            for decision, log in attempts
        )
    )

    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    winner = winners[0]
    assert winner.state is DraftState.APPROVED
    assert winner.reply.status is DeliveryStatus.QUEUED
    assert await store.get_draft("d-1") == winner
    approved = [e for e in await store.entries(subject_id="d-1") if e.action != "draft.received"]
    assert [e.actor for e in approved] == [winner.decision.actor]


async def test_decided_draft_refuses_a_second_decision_and_logs_nothing(store: Store) -> None:
    await approved_draft(store, "d-1")
    reject = Decision(
        kind=DecisionKind.REJECT, actor="U0LATE", at=T0, reason=RejectReason.WRONG_TONE
    )

    result = await store.decide("d-1", reject, log=entry("d-1", Action.DRAFT_REJECTED))

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

    edited = await store.decide("d-edit", edit, log=entry("d-edit", Action.DRAFT_EDITED))
    rejected = await store.decide(
        "d-reject",
        reject,
        log=entry("d-reject", Action.DRAFT_REJECTED),
    )

    assert edited is not None and edited.decision == edit
    assert edited.state is DraftState.APPROVED
    assert rejected is not None and rejected.decision == reject
    assert rejected.state is DraftState.REJECTED
    assert rejected.reply.status is DeliveryStatus.NONE
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
        log=entry("d-1", Action.DRAFT_ESCALATED),
        escalation=escalation,
    )

    assert result is None
    assert await store.get_escalation("esc-late") is None
