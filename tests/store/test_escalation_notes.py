"""An escalation's private note, queued in the outbox with the escalation: taken once, due
after its backoff or a dead worker's lease, recorded only by the attempt that holds it. On
SQLite, PostgreSQL and Supabase's REST API."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.domain import (
    Action,
    Decision,
    DecisionKind,
    Delivery,
    DeliveryStatus,
    MessageKind,
    OutboxMessage,
)
from bot.store import Store
from bot.store.outbox import note_id
from tests.store.helpers import LEASE, T0, entry, make_escalation, stored_draft

pytest_plugins = ["tests.store_fixtures"]


async def escalated(store: Store, note: Delivery) -> str:
    await stored_draft(store, "d-1")
    escalation = make_escalation("esc-1", "d-1", due_at=T0)
    message = OutboxMessage(
        id=note_id(escalation.id),
        subject_id=escalation.id,
        conversation_id=101,
        kind=MessageKind.NOTE,
        content="Escalated to managers (URGENT, high value)\n\n(occ-bot escalation esc-1)",
        action=Action.ESCALATION_NOTED.value,
        actor="U0OPERATOR",
        created_at=T0,
        delivery=note,
    )
    decision = Decision(kind=DecisionKind.ESCALATE, actor="U0OPERATOR", at=T0)
    decided = await store.decide(
        "d-1",
        decision,
        log=entry("d-1", Action.DRAFT_ESCALATED),
        escalation=escalation,
        messages=(message,),
    )
    assert decided is not None
    return message.id


async def test_the_escalating_worker_holds_the_first_lease(store: Store) -> None:
    leased = Delivery(status=DeliveryStatus.SENDING, attempts=1, lease_until=T0 + LEASE)
    note = await escalated(store, leased)

    assert (await store.get_outbox_message(note)).delivery == leased
    assert [m.id for m in await store.outbox_for("esc-1")] == [note]
    assert await store.due_outbox_messages(T0) == []
    assert await store.claim_outbox_message(note, now=T0, lease_until=T0 + LEASE) is None
    later = T0 + LEASE + timedelta(seconds=1)  # the worker died: its lease ran out
    assert await store.due_outbox_messages(later) == [note]


async def test_a_due_note_is_taken_by_one_worker_and_recorded_by_it_alone(store: Store) -> None:
    note = await escalated(store, Delivery(status=DeliveryStatus.QUEUED))

    taken = await asyncio.gather(
        *(store.claim_outbox_message(note, now=T0, lease_until=T0 + LEASE) for _ in range(5))
    )
    [winner] = [found for found in taken if found is not None]
    stale = Delivery(status=DeliveryStatus.SENT, attempts=0)
    sent = Delivery(status=DeliveryStatus.SENT, attempts=1, message_id="77", sent_at=T0)

    assert winner.delivery.status is DeliveryStatus.SENDING and winner.delivery.attempts == 1
    assert await store.finish_outbox_message(note, stale, entry("esc-1")) is None
    finished = await store.finish_outbox_message(note, sent, entry("esc-1"))
    assert finished is not None and finished.delivery == sent
    assert await store.due_outbox_messages(T0 + timedelta(days=1)) == []


async def test_a_failed_note_waits_for_its_backoff_unless_forced(store: Store) -> None:
    retry_at = T0 + timedelta(minutes=1)
    failed = Delivery(status=DeliveryStatus.FAILED, attempts=1, next_attempt_at=retry_at)
    note = await escalated(store, failed)

    assert await store.due_outbox_messages(T0) == []
    assert await store.due_outbox_messages(retry_at) == [note]
    forced = await store.claim_outbox_message(note, now=T0, lease_until=T0 + LEASE, force=True)
    assert forced is not None and forced.delivery.attempts == 2
