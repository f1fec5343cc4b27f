"""The queue summary: what is waiting, counted on every backend."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta, timezone
from typing import TYPE_CHECKING

from bot.domain import (
    Action,
    Decision,
    DecisionKind,
    Delivery,
    DeliveryStatus,
    RejectReason,
)
from bot.store import QueueSummary, Store
from bot.store.outbox import reply_id
from tests.store.helpers import (
    LEASE,
    T0,
    approved_draft,
    entry,
    escalated_draft,
    stored_draft,
)

if TYPE_CHECKING:
    from tests.store_fixtures import Backend

pytest_plugins = ["tests.store_fixtures"]


EMPTY_QUEUE = QueueSummary(
    pending=0,
    oldest_pending_at=None,
    replies_in_flight=0,
    replies_failing=0,
    open_escalations=0,
    overdue_escalations=0,
)


REPLY_ACTIONS = {
    DeliveryStatus.SENT: Action.REPLY_SENT,
    DeliveryStatus.RECORDED: Action.REPLY_RECORDED,
    DeliveryStatus.FAILED: Action.REPLY_FAILED,
    DeliveryStatus.GAVE_UP: Action.REPLY_FAILED,
}


async def reply_in_state(store: Store, draft_id: str, status: DeliveryStatus) -> None:
    """An approved draft whose reply has reached ``status``."""
    await approved_draft(store, draft_id)
    if status is DeliveryStatus.QUEUED:
        return
    await store.claim_outbox_message(reply_id(draft_id), now=T0, lease_until=T0 + LEASE)
    if status is not DeliveryStatus.SENDING:
        retry_at = T0 + timedelta(minutes=5) if status is DeliveryStatus.FAILED else None
        finished = Delivery(status=status, attempts=1, next_attempt_at=retry_at)
        await store.finish_outbox_message(
            reply_id(draft_id), finished, entry(draft_id, REPLY_ACTIONS[status])
        )
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
        ("r-queued", DeliveryStatus.QUEUED),
        ("r-sending-1", DeliveryStatus.SENDING),
        ("r-sending-2", DeliveryStatus.SENDING),
        ("r-failed", DeliveryStatus.FAILED),
        ("r-gave-up", DeliveryStatus.GAVE_UP),
        ("r-sent", DeliveryStatus.SENT),
        ("r-recorded", DeliveryStatus.RECORDED),
    ):
        await reply_in_state(store, name, status)
    reject = Decision(kind=DecisionKind.REJECT, actor="U1", at=T0, reason=RejectReason.OTHER)
    await stored_draft(store, "rejected")
    await store.decide("rejected", reject, log=entry("rejected"))
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
