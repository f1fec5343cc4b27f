"""A draft and what it is made of: the customer's message, the AI's reply, its risk, and the
operator's decision."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.domain.deliveries import Delivery
from bot.domain.log import Action, Scope, SlackRef


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
    # Someone answered the customer, or resolved the conversation, in Chatwoot itself.
    RETIRED = "retired"


class RetiredBecause(StrEnum):
    ANSWERED = "answered"  # an agent replied in Chatwoot
    RESOLVED = "resolved"  # the conversation was resolved in Chatwoot


@dataclass(frozen=True)
class Retirement:
    """Why a waiting draft will never be decided: the work was done in Chatwoot."""

    because: RetiredBecause
    at: datetime
    by: str | None = None  # the Chatwoot agent who answered, when known


@dataclass(frozen=True)
class Assignee:
    """The person a conversation is assigned to in Chatwoot (an agent, not occ-bot's own)."""

    agent_id: int
    name: str
    since: datetime


@dataclass(frozen=True)
class ConversationInChatwoot:
    """What people do about a conversation in Chatwoot itself, as its webhooks told occ-bot:
    who it is assigned to, if a person, and the last time a person answered the customer or
    resolved it there (a draft of messages older than that is moot)."""

    conversation_id: int
    assignee: Assignee | None = None
    done: Retirement | None = None


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
    retired: Retirement | None = None  # state RETIRED: done in Chatwoot

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
