"""Escalation SLA rules: how long managers have to claim an escalation of each urgency.

15 / 60 / 240 minutes (Urgent / High / Normal) unless configured otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType

from bot.domain import Urgency

DEFAULT_SLA_MINUTES: Mapping[Urgency, float] = MappingProxyType(
    {Urgency.URGENT: 15.0, Urgency.HIGH: 60.0, Urgency.NORMAL: 240.0}
)


def sla_due(
    urgency: Urgency,
    now: datetime,
    minutes: Mapping[Urgency, float] = DEFAULT_SLA_MINUTES,
) -> datetime:
    """When an escalation of this urgency must be claimed; fractional minutes allowed."""
    span = minutes[urgency]
    if not span > 0:
        raise ValueError(f"SLA minutes for {urgency} must be positive, got {span!r}")
    return now + timedelta(minutes=span)


def minutes_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 60


def sla_verdict(claimed_at: datetime, due_at: datetime) -> str:
    """ "within SLA", or how late the claim came: "12 min past SLA" (whole minutes, at least 1)."""
    if claimed_at <= due_at:
        return "within SLA"
    late = max(1, round(minutes_between(due_at, claimed_at)))
    return f"{late} min past SLA"
