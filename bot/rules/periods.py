"""The team's periods: today, this week (from Monday) and this month, in its time zone."""

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
