"""Reposting Slack messages that failed to post: the card's and the manager message's lease."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.domain import (
    Decision,
    DecisionKind,
    RejectReason,
    SlackRef,
)
from bot.store import Store
from tests.store.helpers import (
    LEASE,
    T0,
    actions,
    approved_draft,
    entry,
    escalated_draft,
    stored_draft,
)

pytest_plugins = ["tests.store_fixtures"]


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
    await store.decide("d-rejected", reject, log=entry("d-rejected"))
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
