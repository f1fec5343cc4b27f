"""Inbound messages and the per-conversation drafting lease, on every backend."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from bot.domain import (
    Action,
    Decision,
    DecisionKind,
    DraftState,
    InboundMessage,
    InboundState,
)
from bot.store import Store
from tests.store.helpers import (
    LEASE,
    T0,
    approval,
    entry,
    make_draft,
)

pytest_plugins = ["tests.store_fixtures"]


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
        store.decide("d-old", approval(), log=entry("d-old", "x.y")),
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
        await store.decide(f"d-{n}", decision, log=entry(f"d-{n}", "x.y"))
    assert [d.id for d in await store.decided_drafts(2)] == ["d-2", "d-1"]
    assert [d.id for d in await store.sent_drafts()] == ["d-0", "d-2"]  # never the rejected
