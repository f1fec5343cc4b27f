"""A draft's reply, a message in the outbox: leases, attempts and outcomes, read with its
draft, on every backend."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from bot.domain import (
    Action,
    Decision,
    DecisionKind,
    Delivery,
    DeliveryStatus,
)
from bot.store import Store
from bot.store.outbox import reply_id
from tests.store.helpers import (
    LEASE,
    T0,
    actions,
    approval,
    approved_draft,
    draft_reply,
    entry,
    make_draft,
    stored_draft,
)

pytest_plugins = ["tests.store_fixtures"]


async def due_drafts(store: Store, now: datetime, limit: int = 100) -> list[str]:
    """The drafts whose reply is due, by the outbox's ids."""
    due = await store.due_outbox_messages(now, limit)
    return [message_id.removeprefix(reply_id("")) for message_id in due]


async def test_only_one_concurrent_reply_claim_wins(store: Store) -> None:
    await approved_draft(store, "d-1")

    results = await asyncio.gather(
        *(
            store.claim_outbox_message(reply_id("d-1"), now=T0, lease_until=T0 + LEASE)
            for _ in range(10)
        )
    )

    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert winners[0].delivery.status is DeliveryStatus.SENDING
    assert winners[0].delivery.attempts == 1
    assert winners[0].delivery.lease_until == T0 + LEASE


async def test_expired_lease_lets_a_second_worker_reclaim(store: Store) -> None:
    await approved_draft(store, "d-1")
    assert (
        await store.claim_outbox_message(reply_id("d-1"), now=T0, lease_until=T0 + LEASE)
        is not None
    )

    during_lease = T0 + LEASE - timedelta(seconds=1)
    after_lease = T0 + LEASE + timedelta(seconds=1)
    assert (
        await store.claim_outbox_message(
            reply_id("d-1"), now=during_lease, lease_until=during_lease + LEASE
        )
        is None
    )
    reclaimed = await store.claim_outbox_message(
        reply_id("d-1"), now=after_lease, lease_until=after_lease + LEASE
    )

    assert reclaimed is not None
    assert reclaimed.delivery.attempts == 2
    assert reclaimed.delivery.lease_until == after_lease + LEASE


async def test_a_decision_queues_its_reply_leased_to_the_decider(store: Store) -> None:
    await store.add_draft(make_draft("d-1"), entry("l-1"))
    leased = draft_reply("d-1", status=DeliveryStatus.SENDING, lease_until=T0 + LEASE)
    decided = await store.decide(
        "d-1",
        Decision(DecisionKind.APPROVE, "U1", T0, final_text="hello"),
        log=entry("l-2"),
        messages=(leased,),
    )

    assert decided is not None
    assert (decided.reply.status, decided.reply.attempts) == (DeliveryStatus.SENDING, 1)
    assert decided.reply.lease_until == T0 + LEASE
    assert await store.get_outbox_message(reply_id("d-1")) == leased
    assert await store.claim_outbox_message(reply_id("d-1"), now=T0, lease_until=T0 + LEASE) is None
    assert await due_drafts(store, T0) == []
    after = T0 + LEASE + timedelta(seconds=1)
    assert await due_drafts(store, after) == ["d-1"]
    reclaimed = await store.claim_outbox_message(
        reply_id("d-1"), now=after, lease_until=after + LEASE
    )
    assert reclaimed is not None and reclaimed.delivery.attempts == 2


async def test_a_lost_decision_queues_no_reply(store: Store) -> None:
    await approved_draft(store, "d-1")
    again = draft_reply("d-1", text="a second reply")

    lost = await store.decide("d-1", approval(actor="U2"), log=entry("l-3"), messages=(again,))

    assert lost is None
    assert [m.content for m in await store.outbox_for("d-1")] == ["hello"]


async def test_gave_up_reply_is_claimed_only_when_forced(store: Store) -> None:
    await approved_draft(store, "d-1")
    await store.claim_outbox_message(reply_id("d-1"), now=T0, lease_until=T0 + LEASE)
    gave_up = Delivery(
        status=DeliveryStatus.GAVE_UP, attempts=1, last_error="422 conversation closed"
    )
    await store.finish_outbox_message(reply_id("d-1"), gave_up, entry("d-1", Action.REPLY_FAILED))
    later = T0 + timedelta(days=1)

    assert (
        await store.claim_outbox_message(reply_id("d-1"), now=later, lease_until=later + LEASE)
        is None
    )
    forced = await store.claim_outbox_message(
        reply_id("d-1"), now=later, lease_until=later + LEASE, force=True
    )

    assert forced is not None
    assert forced.delivery.status is DeliveryStatus.SENDING
    assert forced.delivery.attempts == 2


async def test_failed_reply_waits_for_its_next_attempt_unless_forced(store: Store) -> None:
    await approved_draft(store, "d-1")
    await store.claim_outbox_message(reply_id("d-1"), now=T0, lease_until=T0 + LEASE)
    retry_at = T0 + timedelta(minutes=5)
    failed = Delivery(
        status=DeliveryStatus.FAILED, attempts=1, next_attempt_at=retry_at, last_error="503"
    )
    await store.finish_outbox_message(reply_id("d-1"), failed, entry("d-1", Action.REPLY_FAILED))

    early = T0 + timedelta(minutes=1)
    assert (
        await store.claim_outbox_message(reply_id("d-1"), now=early, lease_until=early + LEASE)
        is None
    )
    assert (
        await store.claim_outbox_message(
            reply_id("d-1"), now=retry_at, lease_until=retry_at + LEASE
        )
        is not None
    )


async def test_failed_reply_can_be_forced_before_its_time(store: Store) -> None:
    await approved_draft(store, "d-1")
    await store.claim_outbox_message(reply_id("d-1"), now=T0, lease_until=T0 + LEASE)
    failed = Delivery(
        status=DeliveryStatus.FAILED, attempts=1, next_attempt_at=T0 + timedelta(hours=1)
    )
    await store.finish_outbox_message(reply_id("d-1"), failed, entry("d-1", Action.REPLY_FAILED))

    forced = await store.claim_outbox_message(
        reply_id("d-1"), now=T0, lease_until=T0 + LEASE, force=True
    )

    assert forced is not None and forced.delivery.attempts == 2


async def test_finished_reply_is_stored_with_its_log_row(store: Store) -> None:
    await approved_draft(store, "d-1")
    await store.claim_outbox_message(reply_id("d-1"), now=T0, lease_until=T0 + LEASE)
    sent_at = T0 + timedelta(seconds=3)
    sent = Delivery(status=DeliveryStatus.SENT, attempts=1, message_id="9001", sent_at=sent_at)

    finished = await store.finish_outbox_message(
        reply_id("d-1"), sent, entry("d-1", Action.REPLY_SENT, payload={"message_id": "9001"})
    )

    sent_reply = Delivery(
        status=DeliveryStatus.SENT, attempts=1, message_id="9001", sent_at=sent_at, lease_until=None
    )
    assert finished is not None and finished.delivery == sent_reply
    assert (await store.get_draft("d-1")).reply == sent_reply
    assert await actions(store, "d-1") == ["draft.received", "draft.approved", "reply.sent"]
    assert (
        await store.claim_outbox_message(reply_id("d-1"), now=sent_at, lease_until=sent_at + LEASE)
        is None
    )


async def test_a_sent_reply_the_channel_did_not_deliver_gives_up_once(store: Store) -> None:
    await approved_draft(store, "d-1")
    await store.claim_outbox_message(reply_id("d-1"), now=T0, lease_until=T0 + LEASE)
    sent = Delivery(status=DeliveryStatus.SENT, attempts=1, message_id="9001", sent_at=T0)
    await store.finish_outbox_message(reply_id("d-1"), sent, entry("d-1", Action.REPLY_SENT))

    found = await store.outbox_message_sent_as("9001")
    other = await store.outbox_message_undelivered(
        reply_id("d-1"), "9002", "not ours", entry("l-x")
    )
    undelivered = await store.outbox_message_undelivered(
        reply_id("d-1"), "9001", "131047: Re-engagement message", entry("d-1", Action.REPLY_FAILED)
    )
    again = await store.outbox_message_undelivered(reply_id("d-1"), "9001", "again", entry("l-y"))

    assert found is not None and found.subject_id == "d-1"
    assert await store.outbox_message_sent_as("9002") is None
    assert other is None and again is None
    assert undelivered is not None
    assert undelivered.delivery.status is DeliveryStatus.GAVE_UP
    assert undelivered.delivery.last_error == "131047: Re-engagement message"
    assert undelivered.delivery.attempts == 1 and undelivered.delivery.message_id == "9001"
    assert (await store.get_draft("d-1")).reply == undelivered.delivery
    assert await actions(store, "d-1") == [
        "draft.received",
        "draft.approved",
        "reply.sent",
        "reply.failed",
    ]
    later = T0 + timedelta(hours=1)
    retried = await store.claim_outbox_message(
        reply_id("d-1"), now=later, lease_until=later + LEASE, force=True
    )
    assert retried is not None and retried.delivery.attempts == 2


async def test_a_late_attempt_cannot_overwrite_the_worker_that_took_over(store: Store) -> None:
    await approved_draft(store, "d-1")
    await store.claim_outbox_message(reply_id("d-1"), now=T0, lease_until=T0 + LEASE)
    after = T0 + LEASE + timedelta(seconds=1)
    await store.claim_outbox_message(
        reply_id("d-1"), now=after, lease_until=after + LEASE
    )  # attempt 2

    late = await store.finish_outbox_message(
        reply_id("d-1"),
        Delivery(status=DeliveryStatus.FAILED, attempts=1),
        entry("d-1", Action.REPLY_FAILED),
    )
    current = await store.finish_outbox_message(
        reply_id("d-1"),
        Delivery(status=DeliveryStatus.SENT, attempts=2),
        entry("d-1", Action.REPLY_SENT),
    )

    assert late is None
    assert current is not None and current.delivery.status is DeliveryStatus.SENT
    assert await actions(store, "d-1") == ["draft.received", "draft.approved", "reply.sent"]


async def test_a_reply_is_read_with_every_list_of_drafts(store: Store) -> None:
    await approved_draft(store, "d-1")
    await store.claim_outbox_message(reply_id("d-1"), now=T0, lease_until=T0 + LEASE)
    sent = Delivery(status=DeliveryStatus.SENT, attempts=1, message_id="9001", sent_at=T0)
    await store.finish_outbox_message(reply_id("d-1"), sent, entry("d-1", Action.REPLY_SENT))

    assert [d.reply.status for d in await store.sent_drafts()] == [DeliveryStatus.SENT]
    assert [d.reply.status for d in await store.decided_drafts(5)] == [DeliveryStatus.SENT]


async def test_due_replies_respect_next_attempt_and_lease(store: Store) -> None:
    for name in ("queued", "failed-due", "failed-later", "sending-expired", "sending-live"):
        await approved_draft(store, name)
    await stored_draft(store, "pending")
    await approved_draft(store, "sent")
    await store.claim_outbox_message(reply_id("sent"), now=T0, lease_until=T0 + LEASE)
    await store.finish_outbox_message(
        reply_id("sent"), Delivery(status=DeliveryStatus.SENT, attempts=1), entry("sent")
    )
    earlier = T0 - timedelta(minutes=10)
    for name, retry_at in (("failed-due", T0), ("failed-later", T0 + timedelta(minutes=5))):
        await store.claim_outbox_message(reply_id(name), now=earlier, lease_until=earlier + LEASE)
        failed = Delivery(status=DeliveryStatus.FAILED, attempts=1, next_attempt_at=retry_at)
        await store.finish_outbox_message(reply_id(name), failed, entry(name))
    await store.claim_outbox_message(
        reply_id("sending-expired"), now=earlier, lease_until=T0 - timedelta(seconds=1)
    )
    await store.claim_outbox_message(reply_id("sending-live"), now=earlier, lease_until=T0 + LEASE)

    assert set(await due_drafts(store, T0)) == {"queued", "failed-due", "sending-expired"}
    later = T0 + timedelta(minutes=10)
    assert set(await due_drafts(store, later)) == {
        "queued",
        "failed-due",
        "failed-later",
        "sending-expired",
        "sending-live",
    }
    assert len(await due_drafts(store, later, limit=2)) == 2
