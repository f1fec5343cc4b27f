"""When data is stale and when a job has fallen behind: pure rules for the `health` job."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain import SourceStatus

PERIODS_BEHIND = 2  # a job not started in this many of its periods has fallen behind


def stale_since(source: SourceStatus, now: datetime, stale_minutes: float) -> datetime | None:
    """Since when the source's data is stale (its last good read, or its first try if it was
    never read), or None while it is fresh."""
    reference = source.last_ok_at or source.first_tried_at
    if now - reference > timedelta(minutes=stale_minutes):
        return reference
    return None


def behind(last_started: datetime, now: datetime, every_seconds: float) -> bool:
    return now - last_started > timedelta(seconds=every_seconds * PERIODS_BEHIND)
