"""Customers waiting on the team (the CX tile): counted and ordered by the longest wait, one per
conversation, from drafts nobody has decided. On SQLite, PostgreSQL and Supabase's REST API."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from bot.domain import (
    Action,
    ConversationLine,
    CxBreach,
    Draft,
    InboundMessage,
    RetiredBecause,
    Retirement,
    TrainingCard,
)
from bot.store import Store
from tests.store.helpers import LEASE, T0, approved_draft, entry, make_draft

pytest_plugins = ["tests.store_fixtures"]

SLA = timedelta(minutes=60)
NOW = T0 + timedelta(hours=3)


def draft_in(conversation_id: int, draft_id: str, *, at: datetime, **changes) -> Draft:
    draft = make_draft(draft_id, at=at)
    return replace(draft, input=replace(draft.input, conversation_id=conversation_id, **changes))


async def webhook_draft(
    store: Store, conversation_id: int, draft_id: str, messages: list[tuple[int, str, datetime]]
) -> Draft:
    """A draft made from the conversation's Chatwoot messages, as `bot.flows.drafting` stores
    it: after them, under the drafting lease, then answering them."""
    for message_id, content, at in messages:
        await store.add_inbound(
            InboundMessage(
                id=f"chatwoot-msg-{message_id}",
                conversation_id=conversation_id,
                message_id=message_id,
                content=content,
                customer_name="Dana",
                customer_email=None,
                received_at=at,
            )
        )
    drafted_at = messages[-1][2] + timedelta(seconds=30)
    draft = draft_in(conversation_id, draft_id, at=drafted_at)
    await store.claim_drafting(conversation_id, now=drafted_at, lease_until=drafted_at + LEASE)
    first = min(at for _, _, at in messages)
    stored = await store.store_conversation_draft(
        draft, [entry(draft_id)], lease_until=drafted_at + LEASE, waiting_since=first
    )
    assert stored
    await store.assign_messages([f"chatwoot-msg-{m}" for m, _, _ in messages], draft_id)
    await store.release_drafting(conversation_id, lease_until=drafted_at + LEASE)
    return draft


def breach_card(conversation_id: int, draft_id: str, *, since: datetime, at: datetime) -> Draft:
    lines = (
        ConversationLine(True, "Dana", "Hello?", since),
        ConversationLine(False, "Olivia", "Checking!", since + timedelta(minutes=1)),
        ConversationLine(True, "Dana", "Still nothing. Where is it?", since + timedelta(minutes=2)),
    )
    return draft_in(
        conversation_id,
        draft_id,
        at=at,
        customer_message="Still nothing. Where is it?",
        breach=CxBreach(waiting_since=since, lines=lines),
        external_id=f"cx-breach-{draft_id}",
    )


async def test_the_longest_waits_come_first_one_per_conversation_with_the_latest_message(
    store: Store,
) -> None:
    # 1: two messages from the webhook, 2 h 30 min ago and 20 min later: waiting since the first
    await webhook_draft(
        store,
        1,
        "d-webhook",
        [
            (11, "Where is my order?", NOW - timedelta(minutes=150)),
            (12, "Hello??", NOW - timedelta(minutes=130)),
        ],
    )
    # 2: a breach card (waiting 2 h 50 min), then a newer message's draft: two cards
    breach = breach_card(2, "d-breach", since=NOW - timedelta(minutes=170), at=NOW - SLA)
    await store.add_draft(breach, entry("d-breach"))
    await webhook_draft(store, 2, "d-newer", [(21, "Anyone there?", NOW - timedelta(minutes=5))])
    # 3: from POST /drafts, 61 min ago: its arrival is the wait
    await store.add_draft(draft_in(3, "d-posted", at=NOW - timedelta(minutes=61)), entry("d-p"))
    # 4: under the SLA
    await store.add_draft(draft_in(4, "d-recent", at=NOW - timedelta(minutes=59)), entry("d-r"))

    waits = await store.cx_waits(NOW - SLA, 10)

    assert waits.total == 3
    assert [w.conversation_id for w in waits.longest] == [2, 1, 3]
    two, one, three = waits.longest
    assert (two.waiting_since, two.draft.id, two.cards) == (
        NOW - timedelta(minutes=170),
        "d-breach",
        2,
    )
    assert two.last_message == "Anyone there?"  # the newer card's message
    assert (one.waiting_since, one.draft.id, one.cards) == (
        NOW - timedelta(minutes=150),
        "d-webhook",
        1,
    )
    assert one.last_message == "Hello??"
    assert (three.waiting_since, three.last_message) == (
        NOW - timedelta(minutes=61),
        three.draft.input.customer_message,
    )
    limited = await store.cx_waits(NOW - SLA, 2)
    assert limited.total == 3 and [w.conversation_id for w in limited.longest] == [2, 1]


async def test_a_breach_cards_own_last_customer_line_is_its_last_message(store: Store) -> None:
    breach = breach_card(5, "d-breach", since=NOW - timedelta(minutes=90), at=NOW - SLA)
    await store.add_draft(breach, entry("d-breach"))

    [wait] = (await store.cx_waits(NOW - SLA, 10)).longest

    assert wait.last_message == "Still nothing. Where is it?"
    assert wait.waiting_since == NOW - timedelta(minutes=90)


async def test_decided_superseded_retired_and_training_drafts_wait_for_nobody(
    store: Store,
) -> None:
    long_ago = NOW - timedelta(hours=2)
    await approved_draft(store, "d-decided", at=long_ago)
    for conversation, name in ((10, "d-old"), (10, "d-new"), (12, "d-retired"), (13, "d-training")):
        draft = draft_in(conversation, name, at=long_ago)
        if name == "d-training":
            draft = replace(draft, training=TrainingCard("U0T", "r-1", "demo-1"))
        await store.add_draft(draft, entry(name))
    await store.supersede("d-old", by="d-new", at=NOW, log=entry("d-old", Action.DRAFT_SUPERSEDED))
    await store.retire_waiting(
        12,
        Retirement(RetiredBecause.ANSWERED, NOW, by="Olivia"),
        lambda d: entry(d.id, Action.DRAFT_RETIRED),
    )

    waits = await store.cx_waits(NOW - SLA, 10)

    assert [(w.conversation_id, w.draft.id) for w in waits.longest] == [(10, "d-new")]
    assert waits.total == 1


async def test_nobody_waiting_is_an_empty_tile(store: Store) -> None:
    await store.add_draft(draft_in(1, "d-recent", at=NOW), entry("d-recent"))
    waits = await store.cx_waits(NOW - SLA, 10)
    assert (waits.total, waits.longest) == (0, ())
