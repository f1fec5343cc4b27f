"""The Chatwoot outbox: resolutions' messages, queued together and delivered once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from bot.domain import (
    Action,
    Delivery,
    DeliveryStatus,
    Escalation,
    MessageKind,
    OutboxMessage,
    Resolution,
    ResolutionOutcome,
)
from bot.store import Store
from bot.store.outbox import correction_id
from tests.store.helpers import (
    LEASE,
    T0,
    actions,
    approved_draft,
    entry,
    escalated_draft,
)

pytest_plugins = ["tests.store_fixtures"]


def outbox_message(escalation: Escalation, kind: MessageKind, delivery: Delivery) -> OutboxMessage:
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
    leased = Delivery(status=DeliveryStatus.SENDING, attempts=1, lease_until=T0 + LEASE)
    messages = [
        outbox_message(escalation, MessageKind.REPLY, leased),
        outbox_message(escalation, MessageKind.NOTE, Delivery(status=DeliveryStatus.QUEUED)),
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
        messages=[outbox_message(escalation, MessageKind.NOTE, Delivery())],
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
    queued = outbox_message(escalation, MessageKind.NOTE, Delivery(status=DeliveryStatus.QUEUED))
    await store.resolve_escalation(
        escalation.id, actor="UMGR", now=T0, log=entry(escalation.id), messages=[queued]
    )

    claims = await asyncio.gather(
        *(store.claim_outbox_message(queued.id, now=T0, lease_until=T0 + LEASE) for _ in range(8))
    )
    [taken] = [c for c in claims if c is not None]
    assert taken.delivery.status is DeliveryStatus.SENDING and taken.delivery.attempts == 1
    stale = Delivery(status=DeliveryStatus.SENT, attempts=2, message_id="9", sent_at=T0)
    assert await store.finish_outbox_message(queued.id, stale, entry(escalation.id)) is None
    sent = Delivery(status=DeliveryStatus.SENT, attempts=1, message_id="9", sent_at=T0)
    done = await store.finish_outbox_message(
        queued.id, sent, entry(escalation.id, Action.ESCALATION_REPLIED)
    )

    assert done is not None and done.delivery == sent
    assert await store.get_outbox_message(queued.id) == done
    assert await store.due_outbox_messages(T0 + 2 * LEASE) == []
    assert "escalation.replied" in await actions(store, escalation.id)


async def test_a_correction_is_queued_once_with_its_log_row_and_listed_under_its_draft(
    store: Store,
) -> None:
    draft = await approved_draft(store, "d-1")
    correction = OutboxMessage(
        id=correction_id(draft.id, 1),
        subject_id=draft.id,
        conversation_id=101,
        kind=MessageKind.REPLY,
        content="A correction: it ships tomorrow.",
        action=Action.CORRECTION_SENT.value,
        actor="U0OPS",
        created_at=T0,
        delivery=Delivery(status=DeliveryStatus.SENDING, attempts=1, lease_until=T0 + LEASE),
    )
    corrected = entry(draft.id, Action.REPLY_CORRECTED)

    assert await store.queue_outbox_message(correction, corrected) == correction
    again = entry(draft.id, Action.REPLY_CORRECTED)
    assert await store.queue_outbox_message(correction, again) is None  # once, no second row

    assert await store.corrections_of(draft.id) == [correction]
    listed = {m.id for m in await store.outbox_for(draft.id)}
    assert listed == {f"reply_{draft.id}", correction.id}  # beside the reply it corrects
    assert (await actions(store, draft.id)).count("reply.corrected") == 1
