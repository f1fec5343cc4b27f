"""How the bot itself is doing: the queue, job runs, data sources, incidents and the team's
numbers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain.drafts import Draft
from bot.domain.log import Scope


@dataclass(frozen=True)
class QueueSummary:
    """What is waiting, for the `/occ queue` command."""

    pending: int  # drafts awaiting a decision
    oldest_pending_at: datetime | None  # received_at of the oldest of them
    replies_in_flight: int  # reply status queued or sending
    replies_failing: int  # reply status failed (being retried) or gave_up (waits for Retry)
    open_escalations: int  # open or claimed
    overdue_escalations: int  # open (nobody claimed it) and due before now


@dataclass(frozen=True)
class CxWait:
    """A conversation whose customer waits on a draft nobody has decided (the CX tile)."""

    conversation_id: int
    waiting_since: datetime  # the longest wait of its waiting drafts
    draft: Draft  # the draft waiting longest: its card is where to act
    cards: int  # its waiting drafts (a CX breach card and a newer message's, say)
    last_message: str  # the customer's latest message the bot holds


@dataclass(frozen=True)
class CxWaits:
    """The conversations waiting past a time: how many, and the longest waits."""

    total: int
    longest: tuple[CxWait, ...]


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
    reviewed: int = 0  # replies a manager reviewed in the window (QA review)
    reviewed_good: int = 0  # of them, marked Good

    @property
    def decisions(self) -> int:
        return self.approved + self.edited + self.rejected + self.escalated

    @property
    def escalation_rate(self) -> float | None:
        return self.escalated / self.decisions if self.decisions else None

    @property
    def decision_quality(self) -> float | None:
        """Good out of reviewed: the share of reviewed replies a manager marked Good."""
        return self.reviewed_good / self.reviewed if self.reviewed else None


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
