"""A message for Chatwoot and where it is in being delivered once (bot.flows.outbox)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class DeliveryStatus(StrEnum):
    NONE = "none"  # nothing to send (pending, rejected, escalated)
    QUEUED = "queued"  # decided, not yet handed to Chatwoot
    SENDING = "sending"  # one worker holds the lease and is calling Chatwoot
    SENT = "sent"
    RECORDED = "recorded"  # Chatwoot not configured: kept, not sent
    FAILED = "failed"  # last attempt failed; retried at reply.next_attempt_at
    GAVE_UP = "gave_up"  # permanent failure or attempts exhausted; only Retry sends it


class MessageKind(StrEnum):
    """What the Chatwoot outbox sends: a reply the customer sees, or a private note."""

    REPLY = "reply"
    NOTE = "note"


@dataclass(frozen=True)
class Delivery:  # where a message for Chatwoot is in being delivered once (bot.flows.outbox)
    status: DeliveryStatus = DeliveryStatus.NONE
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    message_id: str | None = None  # Chatwoot message id once sent
    sent_at: datetime | None = None
    lease_until: datetime | None = None


@dataclass(frozen=True)
class OutboxMessage:
    """A message for a Chatwoot conversation, delivered once with retries (bot.flows.outbox)."""

    id: str
    subject_id: str  # what it belongs to: a draft, an escalation, a Sales Pulse alert
    conversation_id: int
    kind: MessageKind
    content: str
    action: str  # the decision_log action of its delivery attempts
    actor: str  # whom it is attributed to: a Slack user ID, or "system"
    created_at: datetime
    delivery: Delivery = field(default_factory=Delivery)
