"""This replica's view of the Slack workspace: whether Slack answered at start, the IDs of
the configured channels (asked of Slack once, not on every call), and the channels the bot
cannot work in, each with the fix. /healthz and `occ-bot check` show it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# A name Slack did not know is looked for again at most this often (someone may create the
# channel, or invite the bot to a private one), so a missing channel never pages
# conversations.list on every call.
LIST_AGAIN_SECONDS = 300.0
# A channel Slack refused the bot is tried again after this long, not on every job tick.
REFUSED_WAIT = timedelta(minutes=5)


@dataclass(frozen=True)
class ChannelProblem:
    """A configured channel the bot cannot work in, and what a person must do about it."""

    channel: str  # as configured: "#occ-sales" or an ID
    reason: str  # Slack's answer, e.g. "not_in_channel", or "not found"
    fix: str
    since: datetime


def problem_for(channel: str, setting: str, reason: str, since: datetime) -> ChannelProblem:
    """The problem, with the fix a person can act on, for Slack's answer ``reason``."""
    if reason in ("not found", "channel_not_found", "method_not_supported_for_channel_type"):
        fix = (
            f"no channel {channel} the bot can see: if it is private, type `/invite @occ-bot` "
            f"in it; otherwise create it or fix {setting}"
        )
    elif reason in ("not_in_channel",):
        fix = f"the bot is not a member of {channel}: type `/invite @occ-bot` in it"
    elif reason == "is_archived":
        fix = f"{channel} is archived: unarchive it or point {setting} at another channel"
    elif reason == "missing_scope":
        fix = "the app lacks a scope (channels:join): reinstall it from manifest.yml"
    else:
        fix = f"Slack answered {reason} for {channel}: check {setting}"
    return ChannelProblem(channel=channel, reason=reason, fix=fix, since=since)


@dataclass
class Workspace:
    monotonic: Callable[[], float] = time.monotonic
    unreachable_since: datetime | None = None  # Slack did not answer auth.test at start
    ids: dict[str, str] = field(default_factory=dict)  # channel name (lower case) -> ID
    problems: dict[str, ChannelProblem] = field(default_factory=dict)  # by channel
    _refused_at: dict[str, datetime] = field(default_factory=dict)  # by channel, the latest
    _listed_at: float | None = None

    def known_id(self, channel: str) -> str | None:
        """The ID of a ``#name`` seen in the channel list; None for an ID or a new name."""
        return self.ids.get(channel[1:].lower()) if channel.startswith("#") else None

    def may_list_again(self) -> bool:
        """Whether a name not seen yet is worth another read of the channel list."""
        now = self.monotonic()
        if self._listed_at is not None and now - self._listed_at < LIST_AGAIN_SECONDS:
            return False
        self._listed_at = now
        return True

    def learn(self, names_to_ids: dict[str, str]) -> None:
        self.ids.update({name.lower(): channel_id for name, channel_id in names_to_ids.items()})

    def refused(self, problem: ChannelProblem) -> None:
        self.problems.setdefault(problem.channel, problem)
        self._refused_at[problem.channel] = problem.since

    def works(self, channel: str) -> None:
        self.problems.pop(channel, None)
        self._refused_at.pop(channel, None)

    def recently_refused(self, channel: str, now: datetime) -> bool:
        """Whether Slack refused the bot in ``channel`` less than `REFUSED_WAIT` ago."""
        at = self._refused_at.get(channel)
        return at is not None and now - at < REFUSED_WAIT

    def degraded(self) -> dict[str, str]:
        """For /healthz: what fails and since when (ISO 8601)."""
        found = {f"channel {p.channel}": p.since.isoformat() for p in self.problems.values()}
        if self.unreachable_since is not None:
            found["slack"] = self.unreachable_since.isoformat()
        return found

    def fixes(self) -> dict[str, str]:
        return {p.channel: p.fix for p in self.problems.values()}
