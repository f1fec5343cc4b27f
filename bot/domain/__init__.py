r"""Domain vocabulary shared by every layer: plain dataclasses and enums, no I/O.

A draft's life:

    received -> pending --approve/edit--> approved --(reply)--> queued -> sending -> sent
                        |                                            \-> failed (retried) -> ...
                        |--reject-----> rejected
                        \--escalate---> escalated  (+ an Escalation: open -> claimed -> resolved)

Every move out of ``pending`` is a compare-and-set in the store, so exactly one decision wins.

The vocabulary is split by what it describes (drafts, escalations, deliveries, the
decision log, operations, QA reviews, Sales Pulse); every name is importable from `bot.domain`.
"""

from bot.domain.deliveries import Delivery, DeliveryStatus, MessageKind, OutboxMessage
from bot.domain.drafts import (
    RESOLVED_REASONS,
    Assignee,
    Band,
    ConversationInChatwoot,
    ConversationLine,
    Customer,
    CustomerContext,
    CxBreach,
    Decision,
    DecisionKind,
    Draft,
    DraftInput,
    DraftState,
    InboundMessage,
    InboundState,
    KbSource,
    Order,
    OrderFacts,
    RejectReason,
    RetiredBecause,
    Retirement,
    Risk,
    RiskFlag,
    RiskKind,
    Shipment,
    TrainingCard,
)
from bot.domain.escalations import (
    MONEY_OUTCOMES,
    Escalation,
    EscalationState,
    EscalationType,
    Reminder,
    Resolution,
    ResolutionOutcome,
    Urgency,
)
from bot.domain.log import Action, LogEntry, Outcome, Scope, SlackRef
from bot.domain.operations import (
    CxWait,
    CxWaits,
    DecisionStats,
    Incident,
    JobRun,
    QueueSummary,
    RunOutcome,
    SourceStatus,
)
from bot.domain.pulse import PulseOrder, PulseSku, PulseSnapshot
from bot.domain.reviews import (
    BandOutcomes,
    OperatorQuality,
    QaReview,
    ReviewCard,
    Verdict,
)
from bot.domain.sales import (
    Affected,
    Finding,
    SalesAlert,
    SalesFollowup,
    SalesResponse,
    SalesResponseKind,
    ShopOrder,
    ShopRefund,
    SkuStock,
    Trigger,
)

__all__ = [
    "MONEY_OUTCOMES",
    "RESOLVED_REASONS",
    "Action",
    "Affected",
    "Assignee",
    "Band",
    "BandOutcomes",
    "ConversationInChatwoot",
    "ConversationLine",
    "Customer",
    "CustomerContext",
    "CxBreach",
    "CxWait",
    "CxWaits",
    "Decision",
    "DecisionKind",
    "DecisionStats",
    "Delivery",
    "DeliveryStatus",
    "Draft",
    "DraftInput",
    "DraftState",
    "Escalation",
    "EscalationState",
    "EscalationType",
    "Finding",
    "InboundMessage",
    "InboundState",
    "Incident",
    "JobRun",
    "KbSource",
    "LogEntry",
    "MessageKind",
    "OperatorQuality",
    "Order",
    "OrderFacts",
    "OutboxMessage",
    "Outcome",
    "PulseOrder",
    "PulseSku",
    "PulseSnapshot",
    "QaReview",
    "QueueSummary",
    "RejectReason",
    "Reminder",
    "Resolution",
    "ResolutionOutcome",
    "RetiredBecause",
    "Retirement",
    "ReviewCard",
    "Risk",
    "RiskFlag",
    "RiskKind",
    "RunOutcome",
    "SalesAlert",
    "SalesFollowup",
    "SalesResponse",
    "SalesResponseKind",
    "Scope",
    "Shipment",
    "ShopOrder",
    "ShopRefund",
    "SkuStock",
    "SlackRef",
    "SourceStatus",
    "TrainingCard",
    "Trigger",
    "Urgency",
    "Verdict",
]
