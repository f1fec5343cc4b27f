"""QA review's rules: which sent replies a manager reviews, in which order; the bar decision
quality is held to; the pilot's approval rates the calibration is set beside; and the review
card's buttons.

From the source documents (seeds/000, the operator training guide):

- "Quality Review: Your approvals are reviewed weekly, but this is for coaching, not
  punishment" (Q&A, "What if I approve something wrong?"): a weekly sample, a note that
  coaches.
- "Decision quality (accuracy of approve/reject/escalate choices)" is the operators' new
  measure (Q&A, "What happens to my performance metrics?"), and its bar is "80%+ approval
  decisions deemed correct by QA" (Success Metrics, 4-Week Follow-Up, Performance).
- "Based on our pilot data: High confidence (90-100%): ~95% approved as-is or with minor
  edits; Medium confidence (70-89%): ~75% approved after editing; Low confidence (<70%): ~40%
  approved, often need major work or rejection" (Q&A, "How accurate is the AI really?").

The documents give no sample size: `OCC_QA_SAMPLE_SIZE` (5) replies per operator a week.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.domain import Band, DecisionKind, DeliveryStatus, Draft, Verdict
from bot.rules.risk import confidence_band

QUALITY_BAR = 0.80  # Good out of reviewed: "80%+ approval decisions deemed correct by QA"


@dataclass(frozen=True)
class Pilot:
    """What the documents' pilot saw in a band: ``rate`` of drafts ``counted``."""

    rate: float
    counted: str


PILOT: dict[Band, Pilot] = {
    Band.HIGH: Pilot(0.95, "approved as-is or with minor edits"),
    Band.MEDIUM: Pilot(0.75, "approved after editing"),
    Band.LOW: Pilot(0.40, "approved"),
}

# A reply the customer got (or, without Chatwoot, that was recorded as sent).
DELIVERED = frozenset({DeliveryStatus.SENT, DeliveryStatus.RECORDED})
SENDING = frozenset({DecisionKind.APPROVE, DecisionKind.EDIT})


def reviewable(draft: Draft) -> bool:
    """A customer's draft an operator sent (as drafted or edited), delivered."""
    decision = draft.decision
    return (
        draft.training is None
        and decision is not None
        and decision.kind in SENDING
        and draft.reply.status in DELIVERED
    )


def edited(draft: Draft) -> bool:
    decision = draft.decision
    return decision is not None and decision.final_text != draft.input.draft


def priority(draft: Draft) -> tuple[int, float, float, str]:
    """Edited replies first, then Low-confidence ones, then the rest; within each, the lower
    the confidence the sooner, then the earlier sent."""
    assert draft.decision is not None
    if edited(draft):
        group = 0
    elif confidence_band(draft.input.confidence) is Band.LOW:
        group = 1
    else:
        group = 2
    return group, draft.input.confidence, draft.decision.at.timestamp(), draft.id


def sample(replies: Iterable[Draft], size: int) -> dict[str, list[Draft]]:
    """Each operator's ``size`` replies to review first, by operator (in the order their
    first reply was sent); replies that are not `reviewable` are left out."""
    by_operator: dict[str, list[Draft]] = {}
    for draft in replies:
        if reviewable(draft):
            assert draft.decision is not None
            by_operator.setdefault(draft.decision.actor, []).append(draft)
    return {operator: sorted(sent, key=priority)[:size] for operator, sent in by_operator.items()}


@dataclass(frozen=True)
class ReviewButton:
    """A review card's button: its Slack action id, how it is drawn, and the verdict it gives
    (Coach asks for the note first, in a modal). Only managers may press either."""

    action_id: str  # `bot.blocks.ids.ActionId` lists it
    label: str
    style: str | None
    verdict: Verdict

    @property
    def asks_for_a_note(self) -> bool:
        return self.verdict is Verdict.COACH


GOOD = ReviewButton("qa_good", "👍 Good", "primary", Verdict.GOOD)
COACH = ReviewButton("qa_coach", "🗣️ Coach", None, Verdict.COACH)
REVIEW_BUTTONS = (GOOD, COACH)
