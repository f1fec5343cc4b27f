"""Escalations written straight to the store, each with its message already in the
escalations channel: many of them, due when a test says, without clicking each one through."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from slack_sdk.web.async_client import AsyncWebClient

from bot.domain import (
    Action,
    Customer,
    Decision,
    DecisionKind,
    Draft,
    DraftInput,
    Escalation,
    EscalationType,
    LogEntry,
    Outcome,
    Scope,
    SlackRef,
    Urgency,
)
from bot.store import Store

ESCALATED_BY = "U0OPERATOR1"


def entry(subject: str, action: Action) -> LogEntry:
    return LogEntry(
        id=f"log-{subject}-{action.value}",
        created_at=datetime.now(UTC),
        actor=ESCALATED_BY,
        action=action,
        scope=Scope.CX,
        subject_id=subject,
        conversation_id=1000,
        payload={},
        outcome=Outcome.SUCCESS,
    )


async def seed_escalations(
    store: Store,
    slack_api_url: str,
    due: Sequence[datetime],
    *,
    urgency: Urgency = Urgency.NORMAL,  # 4 h SLA: one reminder each unless the clock moves
) -> list[str]:
    """One open escalation per due time, its message posted in #occ-escalations; their ids."""
    web = AsyncWebClient(token="xoxb-occ-standin", base_url=slack_api_url)
    ids = []
    for n, due_at in enumerate(due):
        draft_id, escalation_id = f"d-{n:03d}", f"esc-{n:03d}"
        data = DraftInput(
            conversation_id=1000 + n,
            customer_message="I was charged three times.",
            draft="Hi!",
            confidence=0.5,
            customer=Customer(name=f"Customer {n}"),
        )
        now = datetime.now(UTC)
        await store.add_draft(
            Draft(id=draft_id, input=data, received_at=now),
            entry(draft_id, Action.DRAFT_RECEIVED),
        )
        escalation = Escalation(
            id=escalation_id,
            draft_id=draft_id,
            conversation_id=1000 + n,
            type=EscalationType.HIGH_VALUE,
            urgency=urgency,
            notes="n",
            escalated_by=ESCALATED_BY,
            created_at=now,
            due_at=due_at,
        )
        decision = Decision(DecisionKind.ESCALATE, ESCALATED_BY, now, escalation_id=escalation_id)
        await store.decide(
            draft_id,
            decision,
            log=entry(draft_id, Action.DRAFT_ESCALATED),
            escalation=escalation,
        )
        posted = await web.chat_postMessage(channel="#occ-escalations", text=f"Escalation {n}")
        message = SlackRef(channel=posted["channel"], ts=posted["ts"])
        await store.set_escalation_message(
            escalation_id, message, entry(escalation_id, Action.ESCALATION_POSTED)
        )
        ids.append(escalation_id)
    return ids
