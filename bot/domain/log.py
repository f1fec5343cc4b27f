"""The decision log's vocabulary: actions, outcomes, scopes and a row (`LogEntry`); and where a
Slack message lives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class Scope(StrEnum):
    CX = "cx"
    SALES = "sales"
    RELIABILITY = "reliability"
    TRAINING = "training"


class Outcome(StrEnum):
    SUCCESS = "success"
    RETRY = "retry"
    FAILED = "failed"
    TIMEOUT = "timeout"
    REFUSED = "refused"


class Action(StrEnum):
    """decision_log.action names (docs/interface.md), plus our own in the same noun.verb form."""

    DRAFT_RECEIVED = "draft.received"
    DRAFT_POSTED = "draft.posted"
    DRAFT_APPROVED = "draft.approved"
    DRAFT_EDITED = "draft.edited"
    DRAFT_REJECTED = "draft.rejected"
    DRAFT_ESCALATED = "draft.escalated"
    DRAFT_REFUSED = "draft.refused"
    DRAFT_SUPERSEDED = "draft.superseded"
    DRAFT_FAILED = "draft.failed"
    DRAFT_RETIRED = "draft.retired"  # answered or resolved in Chatwoot
    DRAFT_ASSIGNED = "draft.assigned"  # its conversation's assignee in Chatwoot changed
    REPLY_SENT = "reply.sent"
    REPLY_FAILED = "reply.failed"
    REPLY_RECORDED = "reply.recorded"
    REPLY_RETRIED = "reply.retried"
    REPLY_CORRECTED = "reply.corrected"  # a follow-up to a sent reply, queued from its card
    CORRECTION_SENT = "correction.sent"  # that follow-up's delivery to Chatwoot, per attempt
    ESCALATION_POSTED = "escalation.posted"
    ESCALATION_NOTED = "escalation.noted"
    ESCALATION_CLAIMED = "escalation.claimed"
    ESCALATION_REMINDED = "escalation.reminded"
    ESCALATION_STEPPED_UP = "escalation.stepped_up"
    ESCALATION_RESOLVED = "escalation.resolved"
    ESCALATION_REPLIED = "escalation.replied"
    ESCALATION_RESOLUTION_NOTED = "escalation.resolution_noted"
    ESCALATION_REFUSED = "escalation.refused"
    CX_SLA_BREACHED = "cx.sla_breached"
    SALES_ALERT = "sales.alert"
    SALES_ACKNOWLEDGED = "sales.acknowledged"
    SALES_FOLLOWUP = "sales.followup"
    SALES_POSTED = "sales.posted"
    SALES_CLEARED = "sales.cleared"
    SALES_LEAD_NOTIFIED = "sales.lead_notified"
    SALES_MANAGER_PAGED = "sales.manager_paged"
    SALES_REORDER_STARTED = "sales.reorder_started"
    SALES_FOLLOWUP_DUE = "sales.followup_due"
    SALES_REFUSED = "sales.refused"
    SALES_CUSTOMER_NOTED = "sales.customer_noted"
    SALES_PROACTIVE_OFFERED = "sales.proactive_offered"
    RELIABILITY_ALERT = "reliability.alert"
    RELIABILITY_RECOVERED = "reliability.recovered"
    TRAINING_STARTED = "training.started"
    QA_REVIEWED = "qa.reviewed"  # a manager's verdict on a sent reply: Good, or Coach
    QA_REFUSED = "qa.refused"  # a review not allowed, or of a reply already reviewed
    QA_NOTE_SENT = "qa.note_sent"  # the coaching note reached the operator by DM (per attempt)


@dataclass(frozen=True)
class SlackRef:
    """Where a message lives in Slack."""

    channel: str
    ts: str


@dataclass(frozen=True)
class LogEntry:
    """One decision_log row."""

    id: str
    created_at: datetime
    actor: str  # Slack user id or "system"
    action: Action | str
    scope: Scope
    subject_id: str
    conversation_id: int | None
    payload: dict[str, Any]
    outcome: Outcome
