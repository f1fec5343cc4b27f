"""What operators read for each domain value: labels and the badges that tell levels apart."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from bot.domain import (
    Band,
    EscalationType,
    RejectReason,
    ResolutionOutcome,
    Risk,
    RiskKind,
    Urgency,
)

BAND_BADGE: Mapping[Band, str] = MappingProxyType(
    {Band.HIGH: "🟢 High", Band.MEDIUM: "🟡 Medium", Band.LOW: "🔴 Low"}
)

RISK_BADGE: Mapping[Risk, str] = MappingProxyType(
    {Risk.LOW: "🟢 Low", Risk.MEDIUM: "🟡 Medium", Risk.HIGH: "🔴 High"}
)

RISK_KIND_LABEL: Mapping[RiskKind, str] = MappingProxyType(
    {
        RiskKind.HIGH_VALUE: "High value",
        RiskKind.THREAT: "Threat",
        RiskKind.POLICY_EXCEPTION: "Policy exception",
        RiskKind.TECHNICAL: "Technical issue",
        RiskKind.B2B: "B2B/wholesale",
        RiskKind.MANAGER_REQUESTED: "Manager requested",
        RiskKind.REPEAT_CONTACT: "Repeat contact",
        RiskKind.ANGRY_TONE: "Angry tone",
    }
)

REJECT_REASON_LABEL: Mapping[RejectReason, str] = MappingProxyType(
    {
        RejectReason.FACTUAL_ERROR: "Factual error",
        RejectReason.WRONG_TONE: "Wrong tone",
        RejectReason.INCOMPLETE: "Incomplete",
        RejectReason.HANDLE_MANUALLY: "Handle manually in Chatwoot",
        RejectReason.OTHER: "Other",
        RejectReason.CUSTOMER_CONFIRMED: "Customer confirmed it is resolved",
        RejectReason.DOCUMENTED_ELSEWHERE: "Follow-up documented elsewhere",
    }
)

RESOLUTION_OUTCOME_LABEL: Mapping[ResolutionOutcome, str] = MappingProxyType(
    {
        ResolutionOutcome.REFUND: "Refund",
        ResolutionOutcome.CREDIT: "Store credit",
        ResolutionOutcome.REPLACEMENT: "Replacement sent",
        ResolutionOutcome.POLICY_EXCEPTION: "Policy exception granted",
        ResolutionOutcome.NO_ACTION: "No action needed",
    }
)

# As the training guide's escalation template names them ("High-Value Issue + Legal/Regulatory
# Threat"): the modal, the manager message, the card and the notes all say the same.
ESCALATION_TYPE_LABEL: Mapping[EscalationType, str] = MappingProxyType(
    {
        EscalationType.HIGH_VALUE: "High-Value Issue",
        EscalationType.POLICY_EXCEPTION: "Policy Exception",
        EscalationType.LEGAL_THREAT: "Legal/Regulatory Threat",
        EscalationType.TECHNICAL: "Technical Issue",
        EscalationType.B2B: "B2B/Wholesale",
        EscalationType.OTHER: "Other",
    }
)

URGENCY_LABEL: Mapping[Urgency, str] = MappingProxyType(
    {Urgency.URGENT: "Urgent", Urgency.HIGH: "High", Urgency.NORMAL: "Normal"}
)

URGENCY_EMOJI: Mapping[Urgency, str] = MappingProxyType(
    {Urgency.URGENT: "🔴", Urgency.HIGH: "🟠", Urgency.NORMAL: "🔵"}
)

URGENCY_BADGE: Mapping[Urgency, str] = MappingProxyType(
    {u: f"{URGENCY_EMOJI[u]} {u.value.upper()}" for u in Urgency}
)
