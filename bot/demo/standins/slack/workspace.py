"""The Slack stand-in's workspace: its members, its channels and the bot's membership in them,
the app's DMs, the messages posted, and the ids and timestamps it hands out. What it checks
before a method acts in a conversation (`Workspace._check_access`) is here too."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bot.demo.standins.slack.model import Channel, SlackError, SlackUser

# The channels every stand-in workspace has (the bot's default channel names); others are
# added with `SlackStandin.add_channel`. A name Slack does not know is `channel_not_found`.
DEFAULT_CHANNELS = (
    "occ-approvals",
    "occ-escalations",
    "occ-sales",
    "occ-reliability",
    "occ-training",
)


class Workspace:
    """The state every Web API method acts on (set up by `SlackStandin`)."""

    team_id: str
    team: str
    bot_user_id: str
    bot_id: str
    app_id: str
    _clock: Callable[[], float]
    _users: dict[str, SlackUser]
    _channels: dict[str, str]  # name -> id
    _rooms: dict[str, Channel]  # id -> the channel
    _dms: dict[str, str]
    _messages: dict[tuple[str, str], dict[str, Any]]
    _last_micros: int
    _counter: int

    def add_user(self, user: SlackUser) -> None:
        self._users[user.id] = user

    def add_channel(
        self,
        name: str,
        channel_id: str | None = None,
        *,
        private: bool = False,
        archived: bool = False,
        bot_member: bool = False,
    ) -> str:
        """A channel of the workspace (replacing one of that name); returns its id."""
        name = _channel_name(name)
        old = self._channels.pop(name, None)
        if old is not None:
            self._rooms.pop(old, None)
        channel_id = channel_id or self._derived_id(name, "G" if private else "C")
        self._channels[name] = channel_id
        self._rooms[channel_id] = Channel(channel_id, name, private, archived, bot_member)
        return channel_id

    def invite(self, channel: str) -> None:
        """Someone typed ``/invite @occ-bot`` in the channel."""
        self._room(self._resolve_channel(channel)).bot_member = True

    def kick(self, channel: str) -> None:
        """Someone removed the bot from the channel."""
        self._room(self._resolve_channel(channel)).bot_member = False

    def archive(self, channel: str) -> None:
        room = self._room(self._resolve_channel(channel))
        room.archived, room.bot_member = True, False

    def is_member(self, channel: str) -> bool:
        return self._room(self._resolve_channel(channel)).bot_member

    def channel_id(self, channel: str) -> str:
        """The id the stand-in uses for a channel name (``#occ-approvals``), id or user id."""
        return self._resolve_channel(channel)

    @property
    def _workspace_url(self) -> str:
        return f"https://{re.sub(r'[^a-z0-9]+', '-', self.team.lower()).strip('-')}.slack.com/"

    def _resolve_channel(self, channel: Any) -> str:
        """The id of a channel given by id or ``#name`` (a user id: the app's DM with them);
        ``channel_not_found`` for a name the workspace does not have."""
        value = str(channel or "").strip()
        if not value:
            raise SlackError("channel_not_found")
        if re.fullmatch(r"[CGD][A-Z0-9]{2,}", value):
            return value
        if re.fullmatch(r"[UW][A-Z0-9]{2,}", value):
            return self._dm_channel(value)  # posting to a user id posts in the app's DM
        found = self._channels.get(_channel_name(value))
        if found is None:
            raise SlackError("channel_not_found")
        return found

    def _room(self, channel_id: str) -> Channel:
        room = self._rooms.get(channel_id)
        if room is None:
            raise SlackError("channel_not_found")
        return room

    def _check_access(self, channel_id: str, *, member: bool) -> None:
        """What Slack checks before acting in a conversation: a DM is the app's own; a
        private channel the bot is not in does not exist for it (``channel_not_found``); and
        reading it, an ephemeral or a file share needs membership (``not_in_channel``), where
        a post to a public channel does not (``chat:write.public``)."""
        if channel_id.startswith("D") or channel_id in self._dms.values():
            return
        room = self._room(channel_id)
        if room.private and not room.bot_member:
            raise SlackError("channel_not_found")
        if member and not room.bot_member:
            raise SlackError("not_in_channel")

    def _derived_id(self, name: str, prefix: str) -> str:
        """A stable id for a channel name, shaped as Slack's (at least 9 characters)."""
        base = (prefix + re.sub(r"[^A-Z0-9]", "", name.upper())[:10]).ljust(9, "0")
        candidate, n = base, 1
        while candidate in self._rooms:
            n += 1
            candidate = f"{base}{n}"
        return candidate

    def _dm_channel(self, user_id: str) -> str:
        if user_id not in self._dms:
            self._dms[user_id] = "D" + user_id[1:]
        return self._dms[user_id]

    def _next_ts(self) -> str:
        micros = max(int(self._clock() * 1_000_000), self._last_micros + 1)
        self._last_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _new_id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}0{self._counter:08d}"


def _channel_name(value: str) -> str:
    return value.strip().lstrip("#").lower()
