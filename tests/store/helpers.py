"""What the store's tests share: a draft, a log row, an escalation, and the steps that store
them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain import (
    Action,
    Customer,
    CustomerContext,
    Decision,
    DecisionKind,
    Delivery,
    DeliveryStatus,
    Draft,
    DraftInput,
    Escalation,
    EscalationType,
    KbSource,
    LogEntry,
    MessageKind,
    Order,
    OutboxMessage,
    Outcome,
    Risk,
    RiskFlag,
    RiskKind,
    Scope,
    Urgency,
)
from bot.store import Store
from bot.store.outbox import reply_id

T0 = datetime(2025, 3, 14, 9, 30, 12, 345678, tzinfo=UTC)
LEASE = timedelta(minutes=2)


def make_draft(draft_id: str, *, external_id: str | None = None, at: datetime = T0) -> Draft:
    return Draft(
        id=draft_id,
        input=DraftInput(
            conversation_id=101,
            customer_message="Can you check on order #12345? Où est mon colis? 📦",
            draft="Hi Susan! Your order #12345 shipped yesterday via FedEx...",
            confidence=0.95,
            customer=Customer(name="Susan Martinez", email="susan@example.com"),
            kb_sources=(KbSource(title="Shipping Policy", version="v2.1", relevance=0.98),),
            risk=Risk.LOW,
            agent="Order Support Agent",
            order=Order(id="12345", value_usd=450.0),
            amount_usd=None,
            customer_context=CustomerContext(orders=15, lifetime_value_usd=2100.0),
            external_id=external_id,
        ),
        received_at=at,
        flags=(RiskFlag(kind=RiskKind.HIGH_VALUE, reason="order value $450 over $100"),),
    )


def entry(
    subject_id: str,
    action: Action | str = Action.DRAFT_RECEIVED,
    *,
    at: datetime = T0,
    actor: str = "system",
    payload: dict[str, Any] | None = None,
) -> LogEntry:
    return LogEntry(
        id=f"log-{uuid.uuid4().hex}",
        created_at=at,
        actor=actor,
        action=action,
        scope=Scope.CX,
        subject_id=subject_id,
        conversation_id=101,
        payload=payload if payload is not None else {"note": "test"},
        outcome=Outcome.SUCCESS,
    )


def approval(actor: str = "U0APPROVER", at: datetime = T0) -> Decision:
    return Decision(kind=DecisionKind.APPROVE, actor=actor, at=at, final_text="Hi Susan!")


def make_escalation(
    escalation_id: str, draft_id: str, *, due_at: datetime, created_at: datetime = T0
) -> Escalation:
    return Escalation(
        id=escalation_id,
        draft_id=draft_id,
        conversation_id=101,
        type=EscalationType.HIGH_VALUE,
        urgency=Urgency.URGENT,
        notes="Refund over $100 — needs a manager",
        escalated_by="U0OPERATOR",
        created_at=created_at,
        due_at=due_at,
    )


def draft_reply(
    draft_id: str,
    *,
    status: DeliveryStatus = DeliveryStatus.QUEUED,
    lease_until: datetime | None = None,
    text: str = "hello",
) -> OutboxMessage:
    """A draft's reply as its approval queues it in the outbox (leased: status SENDING)."""
    attempts = 1 if status is DeliveryStatus.SENDING else 0
    return OutboxMessage(
        id=reply_id(draft_id),
        subject_id=draft_id,
        conversation_id=101,
        kind=MessageKind.REPLY,
        content=text,
        action=Action.REPLY_SENT.value,
        actor="U0OPERATOR",
        created_at=T0,
        delivery=Delivery(status=status, attempts=attempts, lease_until=lease_until),
    )


async def stored_draft(store: Store, draft_id: str, **kwargs: Any) -> Draft:
    draft, created = await store.add_draft(make_draft(draft_id, **kwargs), entry(draft_id))
    assert created
    return draft


async def approved_draft(store: Store, draft_id: str, *, at: datetime = T0) -> Draft:
    await stored_draft(store, draft_id, at=at)
    decided = await store.decide(
        draft_id,
        approval(),
        messages=(draft_reply(draft_id),),
        log=entry(draft_id, Action.DRAFT_APPROVED),
    )
    assert decided is not None
    return decided


async def escalated_draft(
    store: Store, draft_id: str, *, due_at: datetime = T0, created_at: datetime = T0
) -> Escalation:
    await stored_draft(store, draft_id)
    escalation = make_escalation(f"esc-{draft_id}", draft_id, due_at=due_at, created_at=created_at)
    decision = Decision(
        kind=DecisionKind.ESCALATE, actor="U0OPERATOR", at=T0, escalation_id=escalation.id
    )
    decided = await store.decide(
        draft_id,
        decision,
        log=entry(draft_id, Action.DRAFT_ESCALATED),
        escalation=escalation,
    )
    assert decided is not None
    return escalation


async def actions(store: Store, subject_id: str) -> list[str]:
    return [str(e.action) for e in await store.entries(subject_id=subject_id)]
