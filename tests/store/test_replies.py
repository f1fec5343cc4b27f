"""A draft's reply: leases, attempts and outcomes, on every backend."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.domain import (
    Action,
    Decision,
    DecisionKind,
    Delivery,
    DeliveryStatus,
)
from bot.store import NotFound, Store
from tests.store.helpers import (
    LEASE,
    T0,
    actions,
    approved_draft,
    entry,
    make_draft,
    stored_draft,
)

pytest_plugins = ["tests.store_fixtures"]


async def test_only_one_concurrent_reply_claim_wins(store: Store) -> None:
    await approved_draft(store, "d-1")

    results = await asyncio.gather(
        *(store.claim_reply("d-1", now=T0, lease_until=T0 + LEASE) for _ in range(10))
    )

    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert winners[0].reply.status is DeliveryStatus.SENDING
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
        reply_status=DeliveryStatus.SENDING,
        log=entry("l-2"),
        reply_lease_until=T0 + LEASE,
    )

    assert decided is not None
    assert (decided.reply.status, decided.reply.attempts) == (DeliveryStatus.SENDING, 1)
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
    gave_up = Delivery(
        status=DeliveryStatus.GAVE_UP, attempts=1, last_error="422 conversation closed"
    )
    await store.finish_reply("d-1", gave_up, entry("d-1", Action.REPLY_FAILED))
    later = T0 + timedelta(days=1)

    assert await store.claim_reply("d-1", now=later, lease_until=later + LEASE) is None
    forced = await store.claim_reply("d-1", now=later, lease_until=later + LEASE, force=True)

    assert forced is not None
    assert forced.reply.status is DeliveryStatus.SENDING
    assert forced.reply.attempts == 2


async def test_failed_reply_waits_for_its_next_attempt_unless_forced(store: Store) -> None:
    await approved_draft(store, "d-1")
    await store.claim_reply("d-1", now=T0, lease_until=T0 + LEASE)
    retry_at = T0 + timedelta(minutes=5)
    failed = Delivery(
        status=DeliveryStatus.FAILED, attempts=1, next_attempt_at=retry_at, last_error="503"
    )
    await store.finish_reply("d-1", failed, entry("d-1", Action.REPLY_FAILED))

    early = T0 + timedelta(minutes=1)
    assert await store.claim_reply("d-1", now=early, lease_until=early + LEASE) is None
    assert await store.claim_reply("d-1", now=retry_at, lease_until=retry_at + LEASE) is not None


async def test_failed_reply_can_be_forced_before_its_time(store: Store) -> None:
    await approved_draft(store, "d-1")
    await store.claim_reply("d-1", now=T0, lease_until=T0 + LEASE)
    failed = Delivery(
        status=DeliveryStatus.FAILED, attempts=1, next_attempt_at=T0 + timedelta(hours=1)
    )
    await store.finish_reply("d-1", failed, entry("d-1", Action.REPLY_FAILED))

    forced = await store.claim_reply("d-1", now=T0, lease_until=T0 + LEASE, force=True)

    assert forced is not None and forced.reply.attempts == 2


async def test_finished_reply_is_stored_with_its_log_row(store: Store) -> None:
    await approved_draft(store, "d-1")
    await store.claim_reply("d-1", now=T0, lease_until=T0 + LEASE)
    sent_at = T0 + timedelta(seconds=3)
    sent = Delivery(status=DeliveryStatus.SENT, attempts=1, message_id="9001", sent_at=sent_at)

    finished = await store.finish_reply(
        "d-1", sent, entry("d-1", Action.REPLY_SENT, payload={"message_id": "9001"})
    )

    assert finished.reply == Delivery(
        status=DeliveryStatus.SENT, attempts=1, message_id="9001", sent_at=sent_at, lease_until=None
    )
    assert await store.get_draft("d-1") == finished
    assert await actions(store, "d-1") == ["draft.received", "draft.approved", "reply.sent"]
    assert await store.claim_reply("d-1", now=sent_at, lease_until=sent_at + LEASE) is None


async def test_a_sent_reply_the_channel_did_not_deliver_gives_up_once(store: Store) -> None:
    await approved_draft(store, "d-1")
    await store.claim_reply("d-1", now=T0, lease_until=T0 + LEASE)
    sent = Delivery(status=DeliveryStatus.SENT, attempts=1, message_id="9001", sent_at=T0)
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
    assert undelivered.reply.status is DeliveryStatus.GAVE_UP
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
        "d-1", Delivery(status=DeliveryStatus.FAILED, attempts=1), entry("d-1", Action.REPLY_FAILED)
    )
    current = await store.finish_reply(
        "d-1", Delivery(status=DeliveryStatus.SENT, attempts=2), entry("d-1", Action.REPLY_SENT)
    )

    assert late is None
    assert current is not None and current.reply.status is DeliveryStatus.SENT
    assert await actions(store, "d-1") == ["draft.received", "draft.approved", "reply.sent"]


async def test_finish_reply_for_unknown_draft_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.finish_reply("nope", Delivery(status=DeliveryStatus.SENT), entry("nope"))


async def test_due_replies_respect_next_attempt_and_lease(store: Store) -> None:
    for name in ("queued", "failed-due", "failed-later", "sending-expired", "sending-live"):
        await approved_draft(store, name)
    await stored_draft(store, "pending")
    await approved_draft(store, "sent")
    await store.claim_reply("sent", now=T0, lease_until=T0 + LEASE)
    await store.finish_reply(
        "sent", Delivery(status=DeliveryStatus.SENT, attempts=1), entry("sent")
    )
    earlier = T0 - timedelta(minutes=10)
    for name, retry_at in (("failed-due", T0), ("failed-later", T0 + timedelta(minutes=5))):
        await store.claim_reply(name, now=earlier, lease_until=earlier + LEASE)
        failed = Delivery(status=DeliveryStatus.FAILED, attempts=1, next_attempt_at=retry_at)
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
