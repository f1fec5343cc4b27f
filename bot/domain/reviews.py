"""QA review: a manager's verdict on a reply an operator sent (Good, or Coach with a note for
the operator), the review cards managers mark it on, and how well drafts are calibrated."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain.drafts import Band
from bot.domain.log import SlackRef


class Verdict(StrEnum):
    GOOD = "good"  # the decision was right
    COACH = "coach"  # it was not: a note for the operator, sent by DM


@dataclass(frozen=True)
class QaReview:
    """One reply's review: one per reply, whoever gives it first."""

    draft_id: str
    operator: str  # who sent the reply (the decision's actor)
    reviewer: str  # the manager
    verdict: Verdict
    note: str | None  # the coaching note (Coach); None for Good
    reviewed_at: datetime
    decided_at: datetime  # when the operator sent the reply
    note_message: SlackRef | None = None  # where the note reached the operator by DM

    @property
    def note_pending(self) -> bool:
        """A coaching note not yet delivered (being sent, or retried)."""
        return self.verdict is Verdict.COACH and self.note_message is None


@dataclass(frozen=True)
class ReviewCard:
    """A reply put before a manager to review: a message in the bot's DM with them."""

    draft_id: str
    reviewer: str
    message: SlackRef


@dataclass(frozen=True)
class OperatorQuality:
    """An operator's reviewed replies in a window, and how many were Good."""

    operator: str
    reviewed: int
    good: int

    @property
    def rate(self) -> float | None:
        return self.good / self.reviewed if self.reviewed else None


@dataclass(frozen=True)
class BandOutcomes:
    """The team's decisions on drafts of one confidence band, in a window."""

    band: Band
    approved: int = 0  # sent as drafted
    edited: int = 0  # sent after an edit
    rejected: int = 0
    escalated: int = 0

    @property
    def decisions(self) -> int:
        return self.approved + self.edited + self.rejected + self.escalated

    @property
    def as_is_rate(self) -> float | None:
        return self.approved / self.decisions if self.decisions else None

    @property
    def sent_rate(self) -> float | None:
        """Approved as drafted or after an edit."""
        return (self.approved + self.edited) / self.decisions if self.decisions else None
