"""The team's periods: today, this week (from Monday), this month and last week, in its time
zone."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

PERIODS = {"today": "today", "week": "this week", "month": "this month"}


def period_start(period: str, now: datetime, zone: ZoneInfo) -> datetime:
    """The start of today, this week (Monday) or this month, in ``zone``."""
    day = now.astimezone(zone).date()
    if period == "week":
        day -= timedelta(days=day.weekday())
    elif period == "month":
        day = day.replace(day=1)
    elif period != "today":
        raise ValueError(f"no period {period!r}: one of {', '.join(PERIODS)}")
    return datetime.combine(day, time(), zone)


def last_week(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The last full week before ``now`` (Monday to Sunday, in ``zone``): its start, and the
    start of this week (its end, not included)."""
    this_monday = period_start("week", now, zone)
    return this_monday - timedelta(days=7), this_monday
