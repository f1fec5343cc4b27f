"""The escalation chain: who is told, level by level, while an escalation stays unclaimed.

`OCC_ESCALATION_CHAIN` lists the levels (`managers`, a user ID, a user group ID or a
`#channel`); an escalation stays at a level for `OCC_REMINDERS_PER_LEVEL` reminders, then moves
up one. The last level keeps being reminded every SLA period: nothing expires silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class LevelKind(StrEnum):
    MANAGERS = "managers"  # OCC_MANAGERS (and OCC_MANAGERS_GROUP), in the escalation's thread
    USER = "user"  # one person, mentioned in the thread
    GROUP = "group"  # a Slack user group, mentioned in the thread
    CHANNEL = "channel"  # another channel, told there with a link to the escalation


@dataclass(frozen=True)
class Level:
    kind: LevelKind
    target: str = ""  # user, group or channel; empty for managers

    def __str__(self) -> str:
        return self.target or self.kind.value


_USER = re.compile(r"[UW][A-Z0-9]{2,31}")
_GROUP = re.compile(r"S[A-Z0-9]{2,31}")
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,31}")
_CHANNEL_NAME = re.compile(r"#[a-z0-9][a-z0-9_-]{0,79}")


def parse_level(entry: str) -> Level:
    """One entry of OCC_ESCALATION_CHAIN; ValueError names what is wrong with it."""
    entry = entry.strip()
    if entry.lower() == LevelKind.MANAGERS.value:
        return Level(LevelKind.MANAGERS)
    if _USER.fullmatch(entry):
        return Level(LevelKind.USER, entry)
    if _GROUP.fullmatch(entry):
        return Level(LevelKind.GROUP, entry)
    if _CHANNEL_ID.fullmatch(entry) or _CHANNEL_NAME.fullmatch(entry):
        return Level(LevelKind.CHANNEL, entry)
    raise ValueError(
        f"{entry!r} is not `managers`, a Slack user ID (U…), a user group ID (S…), "
        "or a channel (#name or C…)"
    )


def parse_chain(value: str) -> tuple[Level, ...]:
    entries = [part for part in value.split(",") if part.strip()]
    if not entries:
        raise ValueError("needs at least one level, e.g. `managers`")
    return tuple(parse_level(part) for part in entries)


def level_index(reminder_number: int, per_level: int, levels: int) -> int:
    """Which level (0-based) reminder number ``reminder_number`` (1-based) goes to."""
    if reminder_number < 1 or per_level < 1 or levels < 1:
        raise ValueError("reminder numbers, reminders per level and levels start at 1")
    return min((reminder_number - 1) // per_level, levels - 1)


def steps_up(reminder_number: int, per_level: int, levels: int) -> bool:
    """Whether this reminder is the first at a higher level than the one before it."""
    if reminder_number < 2:
        return False
    previous = level_index(reminder_number - 1, per_level, levels)
    return level_index(reminder_number, per_level, levels) != previous


def next_reminder_at(scheduled: datetime, period_minutes: float, now: datetime) -> datetime:
    """When the reminder after the one scheduled at ``scheduled`` falls due: one SLA period
    later. Due times a stopped bot missed are not all made up at once: one reminder says how
    late it is, and the next comes a full period after ``now``."""
    period = timedelta(minutes=period_minutes)
    following = scheduled + period
    return following if following > now else now + period
