"""An escalation's note delivery: taken once, due after its backoff or a dead worker's lease,
recorded only by the attempt that holds it. On SQLite, PostgreSQL and Supabase's REST API."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from bot.domain import Action, Decision, DecisionKind, Delivery, DeliveryStatus
from bot.store import Store
from tests.store.helpers import LEASE, T0, entry, make_escalation, stored_draft

pytest_plugins = ["tests.store_fixtures"]


async def escalated(store: Store, note: Delivery) -> str:
    await stored_draft(store, "d-1")
    escalation = replace(make_escalation("esc-1", "d-1", due_at=T0), note=note)
    decision = Decision(kind=DecisionKind.ESCALATE, actor="U0OPERATOR", at=T0)
    await store.decide(
        "d-1",
        decision,
        reply_status=DeliveryStatus.NONE,
        log=entry("d-1", Action.DRAFT_ESCALATED),
        escalation=escalation,
    )
    return escalation.id


async def test_the_escalating_worker_holds_the_first_lease(store: Store) -> None:
    leased = Delivery(status=DeliveryStatus.SENDING, attempts=1, lease_until=T0 + LEASE)
    escalation_id = await escalated(store, leased)

    assert (await store.get_escalation(escalation_id)).note == leased
    assert await store.due_notes(T0) == []
    assert await store.claim_note(escalation_id, now=T0, lease_until=T0 + LEASE) is None
    later = T0 + LEASE + timedelta(seconds=1)  # the worker died: its lease ran out
    assert await store.due_notes(later) == [escalation_id]


async def test_a_due_note_is_taken_by_one_worker_and_recorded_by_it_alone(store: Store) -> None:
    escalation_id = await escalated(store, Delivery(status=DeliveryStatus.QUEUED))

    taken = await asyncio.gather(
        *(store.claim_note(escalation_id, now=T0, lease_until=T0 + LEASE) for _ in range(5))
    )
    [winner] = [found for found in taken if found is not None]
    stale = Delivery(status=DeliveryStatus.SENT, attempts=0)
    sent = Delivery(status=DeliveryStatus.SENT, attempts=1, message_id="77", sent_at=T0)

    assert winner.note.status is DeliveryStatus.SENDING and winner.note.attempts == 1
    assert await store.finish_note(escalation_id, stale, entry(escalation_id)) is None
    finished = await store.finish_note(escalation_id, sent, entry(escalation_id))
    assert finished is not None and finished.note == sent
    assert await store.due_notes(T0 + timedelta(days=1)) == []


async def test_a_failed_note_waits_for_its_backoff_unless_forced(store: Store) -> None:
    retry_at = T0 + timedelta(minutes=1)
    failed = Delivery(status=DeliveryStatus.FAILED, attempts=1, next_attempt_at=retry_at)
    escalation_id = await escalated(store, failed)

    assert await store.due_notes(T0) == []
    assert await store.due_notes(retry_at) == [escalation_id]
    forced = await store.claim_note(escalation_id, now=T0, lease_until=T0 + LEASE, force=True)
    assert forced is not None and forced.note.attempts == 2
