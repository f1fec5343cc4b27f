"""An escalation to managers: its type, urgency and state, its reminders and its resolution."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain.log import SlackRef


class EscalationType(StrEnum):
    HIGH_VALUE = "high_value"
    POLICY_EXCEPTION = "policy_exception"
    LEGAL_THREAT = "legal_regulatory"
    TECHNICAL = "technical"
    B2B = "b2b_wholesale"
    OTHER = "other"


class ResolutionOutcome(StrEnum):
    """What a manager's resolution of an escalation came to (the Resolve modal)."""

    REFUND = "refund"
    CREDIT = "credit"
    REPLACEMENT = "replacement"
    POLICY_EXCEPTION = "policy_exception"
    NO_ACTION = "no_action"


MONEY_OUTCOMES = frozenset({ResolutionOutcome.REFUND, ResolutionOutcome.CREDIT})


class Urgency(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"


class EscalationState(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Escalation:
    id: str
    draft_id: str
    conversation_id: int | None
    type: EscalationType
    urgency: Urgency
    notes: str
    escalated_by: str
    created_at: datetime
    due_at: datetime
    state: EscalationState = EscalationState.OPEN
    message: SlackRef | None = None
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    reminders_sent: int = 0
    next_reminder_at: datetime | None = None
    resolution: Resolution | None = None


@dataclass(frozen=True)
class Resolution:
    """How a manager resolved an escalation."""

    outcome: ResolutionOutcome
    summary: str  # what was done
    amount_usd: float | None = None  # refunded or credited
    customer_reply: str | None = None  # sent to the customer through Chatwoot
    notes: str | None = None  # for the operator who escalated


@dataclass(frozen=True)
class Reminder:
    """One reminder of an unclaimed escalation, to one level of the escalation chain."""

    id: str
    escalation_id: str
    number: int  # 1 for the first reminder
    level: int  # 0-based index into OCC_ESCALATION_CHAIN when it was taken
    notify: str  # that level as configured: `managers`, a user, group or channel
    due_at: datetime  # the due time it is for
    created_at: datetime
    message: SlackRef | None = None
    attempts: int = 0  # posts begun; after the first, Slack is searched before posting again
