r"""Domain vocabulary shared by every layer: plain dataclasses and enums, no I/O.

A draft's life:

    received -> pending --approve/edit--> approved --(reply)--> queued -> sending -> sent
                        |                                            \-> failed (retried) -> ...
                        |--reject-----> rejected
                        \--escalate---> escalated  (+ an Escalation: open -> claimed -> resolved)

Every move out of ``pending`` is a compare-and-set in the store, so exactly one decision wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Risk(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Band(StrEnum):
    """Confidence band: High 90-100 %, Medium 70-89 %, Low under 70 %."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class RiskKind(StrEnum):
    HIGH_VALUE = "high_value"
    THREAT = "threat"
    POLICY_EXCEPTION = "policy_exception"
    TECHNICAL = "technical"
    B2B = "b2b"
    MANAGER_REQUESTED = "manager_requested"
    REPEAT_CONTACT = "repeat_contact"
    ANGRY_TONE = "angry_tone"


@dataclass(frozen=True)
class RiskFlag:
    kind: RiskKind
    reason: str


class DraftState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    ESCALATED = "escalated"
    # A newer customer message's draft replaced it before anyone decided it.
    SUPERSEDED = "superseded"


class DecisionKind(StrEnum):
    APPROVE = "approve"
    EDIT = "edit"
    REJECT = "reject"
    ESCALATE = "escalate"

    @property
    def state(self) -> DraftState:
        return {
            DecisionKind.APPROVE: DraftState.APPROVED,
            DecisionKind.EDIT: DraftState.APPROVED,
            DecisionKind.REJECT: DraftState.REJECTED,
            DecisionKind.ESCALATE: DraftState.ESCALATED,
        }[self]

    @property
    def logged_as(self) -> Action:
        """The decision_log action a decision of this kind is written as."""
        return {
            DecisionKind.APPROVE: Action.DRAFT_APPROVED,
            DecisionKind.EDIT: Action.DRAFT_EDITED,
            DecisionKind.REJECT: Action.DRAFT_REJECTED,
            DecisionKind.ESCALATE: Action.DRAFT_ESCALATED,
        }[self]


class DeliveryStatus(StrEnum):
    NONE = "none"  # nothing to send (pending, rejected, escalated)
    QUEUED = "queued"  # decided, not yet handed to Chatwoot
    SENDING = "sending"  # one worker holds the lease and is calling Chatwoot
    SENT = "sent"
    RECORDED = "recorded"  # Chatwoot not configured: kept, not sent
    FAILED = "failed"  # last attempt failed; retried at reply.next_attempt_at
    GAVE_UP = "gave_up"  # permanent failure or attempts exhausted; only Retry sends it


class RejectReason(StrEnum):
    FACTUAL_ERROR = "factual_error"
    WRONG_TONE = "wrong_tone"
    INCOMPLETE = "incomplete"
    HANDLE_MANUALLY = "handle_manually"
    OTHER = "other"
    # Mark Resolved on a CX breach card: nothing is sent, for one of these reasons
    CUSTOMER_CONFIRMED = "customer_confirmed"
    DOCUMENTED_ELSEWHERE = "documented_elsewhere"


RESOLVED_REASONS = frozenset({RejectReason.CUSTOMER_CONFIRMED, RejectReason.DOCUMENTED_ELSEWHERE})


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


class MessageKind(StrEnum):
    """What the Chatwoot outbox sends: a reply the customer sees, or a private note."""

    REPLY = "reply"
    NOTE = "note"


class Urgency(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"


class EscalationState(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    RESOLVED = "resolved"


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
    REPLY_SENT = "reply.sent"
    REPLY_FAILED = "reply.failed"
    REPLY_RECORDED = "reply.recorded"
    REPLY_RETRIED = "reply.retried"
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


@dataclass(frozen=True)
class SlackRef:
    """Where a message lives in Slack."""

    channel: str
    ts: str


@dataclass(frozen=True)
class Customer:
    name: str | None = None
    email: str | None = None
    # False: typed into a chat widget, so no order facts were used; None: not known (a
    # draft from POST /drafts says nothing about it)
    email_verified: bool | None = None


@dataclass(frozen=True)
class KbSource:
    title: str
    version: str | None = None
    relevance: float | None = None
    url: str | None = None


@dataclass(frozen=True)
class Order:
    id: str | None = None
    value_usd: float | None = None


@dataclass(frozen=True)
class Shipment:
    """One fulfillment of an order, with its tracking as Shopify has it."""

    status: str  # Shopify's display status: IN_TRANSIT, DELIVERED, … (else its status)
    shipped_at: datetime
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    estimated_delivery_at: datetime | None = None
    delivered_at: datetime | None = None


@dataclass(frozen=True)
class OrderFacts:
    """An order as Shopify has it: the only order details a draft may state."""

    name: str  # "#1001"
    placed_at: datetime
    fulfillment_status: str  # UNFULFILLED, FULFILLED, …
    financial_status: str | None  # PAID, REFUNDED, …
    total: float
    currency: str
    items: tuple[tuple[str, int], ...] = ()  # (title, quantity)
    shipments: tuple[Shipment, ...] = ()
    cancelled_at: datetime | None = None


@dataclass(frozen=True)
class CustomerContext:
    orders: int | None = None
    lifetime_value_usd: float | None = None


@dataclass(frozen=True)
class ConversationLine:
    """One message of a Chatwoot conversation, as a CX breach card shows it."""

    from_customer: bool
    author: str | None
    text: str
    at: datetime


@dataclass(frozen=True)
class CxBreach:
    """A conversation whose customer has waited past the CX SLA with no agent reply."""

    waiting_since: datetime
    lines: tuple[ConversationLine, ...] = ()  # the last few messages, oldest first


@dataclass(frozen=True)
class DraftInput:
    """A draft as it arrives (docs/interface.md, "A draft"), already validated."""

    conversation_id: int
    customer_message: str
    draft: str
    confidence: float
    customer: Customer = field(default_factory=Customer)
    kb_sources: tuple[KbSource, ...] = ()
    risk: Risk = Risk.LOW
    agent: str | None = None
    order: Order | None = None
    amount_usd: float | None = None
    customer_context: CustomerContext | None = None
    external_id: str | None = None
    breach: CxBreach | None = None  # set on a CX SLA breach card
    order_facts: OrderFacts | None = None  # the order the customer asks about, from Shopify
    abstained: str | None = None  # why the drafter wrote nothing; then ``draft`` is empty


@dataclass(frozen=True)
class Decision:
    kind: DecisionKind
    actor: str
    at: datetime
    final_text: str | None = None  # what goes to the customer (approve/edit)
    reason: RejectReason | None = None
    notes: str | None = None
    escalation_id: str | None = None


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
class TrainingCard:
    """A draft posted for practice: one scenario of the packet, for one trainee to decide.
    Nothing it decides reaches a customer or a manager."""

    trainee: str  # Slack user ID: the only person who may decide it
    round: str  # the `/occ training start` that posted it
    scenario: str  # the packet key (bot.scenarios)


@dataclass(frozen=True)
class Draft:
    id: str
    input: DraftInput
    received_at: datetime
    flags: tuple[RiskFlag, ...] = ()
    state: DraftState = DraftState.PENDING
    card: SlackRef | None = None
    posted_at: datetime | None = None
    decision: Decision | None = None
    reply: Delivery = field(default_factory=Delivery)  # its reply in the Chatwoot outbox, if any
    superseded_by: str | None = None  # the draft that replaced it (state SUPERSEDED)
    training: TrainingCard | None = None

    @property
    def scope(self) -> Scope:
        return Scope.TRAINING if self.training is not None else Scope.CX


class InboundState(StrEnum):
    WAITING = "waiting"  # stored, not drafted yet
    DRAFTED = "drafted"
    FAILED = "failed"  # drafting gave up; said in the reliability channel


@dataclass(frozen=True)
class InboundMessage:
    """A customer's Chatwoot message, stored before the webhook answers and drafted later."""

    id: str  # "chatwoot-msg-<message id>", the external_id of a draft answering it last
    conversation_id: int
    message_id: int
    content: str
    customer_name: str | None
    customer_email: str | None
    received_at: datetime
    state: InboundState = InboundState.WAITING
    draft_id: str | None = None
    error: str | None = None
    email_verified: bool = False  # Chatwoot vouches the address is the customer's


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


@dataclass(frozen=True)
class QueueSummary:
    """What is waiting, for the `/occ queue` command."""

    pending: int  # drafts awaiting a decision
    oldest_pending_at: datetime | None  # received_at of the oldest of them
    replies_in_flight: int  # reply status queued or sending
    replies_failing: int  # reply status failed (being retried) or gave_up (waits for Retry)
    open_escalations: int  # open or claimed
    overdue_escalations: int  # open (nobody claimed it) and due before now


class RunOutcome(StrEnum):
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"


@dataclass(frozen=True)
class JobRun:
    """One run of a scheduled job: the window it covers, who ran it, how it ended."""

    job: str
    window_start: datetime
    runner: str  # which replica: host:pid
    started_at: datetime
    finished_at: datetime | None = None
    outcome: RunOutcome = RunOutcome.RUNNING
    detail: str = ""


@dataclass(frozen=True)
class SourceStatus:
    """How fresh a data source is: its last successful read and its last error."""

    name: str  # "shopify", "chatwoot"
    first_tried_at: datetime
    last_ok_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None


@dataclass(frozen=True)
class DecisionStats:
    """The numbers over a window, for the team or one person (`bot.store.stats`)."""

    approved: int = 0
    edited: int = 0
    rejected: int = 0
    escalated: int = 0
    median_seconds: float | None = None  # time to decide, card → click
    p90_seconds: float | None = None
    claims: int = 0  # escalations claimed by managers
    claims_within_sla: int = 0
    breaches: int = 0  # conversations found waiting past the CX SLA

    @property
    def decisions(self) -> int:
        return self.approved + self.edited + self.rejected + self.escalated

    @property
    def escalation_rate(self) -> float | None:
        return self.escalated / self.decisions if self.decisions else None


@dataclass(frozen=True)
class Incident:
    """Something failing that on-call must hear about once, and once more when it recovers.

    ``id`` says what it is about (``dependency:chatwoot``), so every replica seeing the same
    failure meets the same row.
    """

    id: str
    scope: Scope
    opened_at: datetime
    detail: str = ""
    closed_at: datetime | None = None


# --- Sales Pulse -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShopRefund:
    """Money given back on an order, on the day it was given."""

    created_at: datetime
    amount: float  # in the shop's currency


@dataclass(frozen=True, slots=True)
class ShopOrder:
    """What Sales Pulse reads of a Shopify order."""

    id: str  # gid://shopify/Order/…
    name: str  # "#1001"
    created_at: datetime
    total: float  # in the shop's currency
    financial: str  # displayFinancialStatus: PAID, PENDING, …
    fulfillment: str  # displayFulfillmentStatus: UNFULFILLED, FULFILLED, …
    email: str | None = None
    cancelled: bool = False
    items: tuple[tuple[str, int], ...] = ()  # (sku, quantity) per line item
    refunds: tuple[ShopRefund, ...] = ()


@dataclass(frozen=True)
class SkuStock:
    """A top-selling SKU's stock: what is available across locations, and its reorder point
    where the merchant keeps one (variant metafield ``occ.reorder_point``)."""

    sku: str
    title: str
    available: int
    variant_id: str
    product_id: str
    reorder_point: int | None = None


class Trigger(StrEnum):
    """Sales Pulse's decision triggers (the source documents' four, and refund spike), each
    with its spec in `bot.rules.sales`."""

    REVENUE_DROP = "revenue_drop"
    ORDER_SPIKE = "order_spike"
    FULFILLMENT_DELAY = "fulfillment_delay"
    LOW_STOCK = "low_stock"
    REFUND_SPIKE = "refund_spike"


@dataclass(frozen=True)
class Affected:
    """An order or SKU an alert is about, with its Shopify Admin link."""

    label: str  # "#1001" or the SKU
    detail: str  # "$84.00, paid 31 h ago, customer@example.com" / "3 left, 1.5 days of cover"
    url: str
    email: str | None = None  # the customer's, for finding their Chatwoot conversations


@dataclass(frozen=True)
class Finding:
    """A trigger crossed: what Sales Pulse alerts about. ``condition`` names the ongoing
    condition (``fulfillment_delay``, ``low_stock:SKU-1``), so it is alerted once."""

    trigger: Trigger
    condition: str
    metric: str  # "Revenue today so far"
    value: float
    baseline: float | None  # None where there is no baseline (delays, stock)
    threshold: str  # "more than 15% below the 7-day average"
    severity: float  # how bad, in the trigger's own unit; compared to re-alert when worse
    unit: str  # "money", "orders", "units"
    trend: tuple[float, ...] = ()  # oldest first; the last value is now
    trend_label: str = ""  # what the trend's points are
    affected: tuple[Affected, ...] = ()
    affected_total: int = 0  # how many there are in all (affected lists the first ones)
    currency: str = "USD"


@dataclass(frozen=True)
class SalesResponse:
    """Someone acting on an alert: ``kind`` is `SalesResponseKind`'s value."""

    kind: str
    actor: str
    at: datetime
    detail: dict[str, Any] = field(default_factory=dict)


class SalesResponseKind(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    LEAD_NOTIFIED = "lead_notified"
    MANAGER_PAGED = "manager_paged"
    REORDER_STARTED = "reorder_started"


@dataclass(frozen=True)
class SalesAlert:
    """One alert message about a `Finding`. A markedly worse finding of the same condition
    is a new alert that supersedes this one; a cleared condition closes it."""

    id: str
    finding: Finding
    opened_at: datetime
    message: SlackRef | None = None
    supersedes: str | None = None  # the alert this one replaced, being worse
    superseded_by: str | None = None
    cleared_at: datetime | None = None
    clear_message: SlackRef | None = None
    responses: tuple[SalesResponse, ...] = ()

    @property
    def condition(self) -> str:
        return self.finding.condition

    def response(self, kind: str) -> SalesResponse | None:
        return next((r for r in self.responses if r.kind == kind), None)


@dataclass(frozen=True)
class SalesFollowup:
    """A follow-up created from an alert; its owner is reminded once it is due."""

    id: str
    alert_id: str
    owner: str
    due_at: datetime
    note: str
    created_by: str
    created_at: datetime
    reminded_at: datetime | None = None
