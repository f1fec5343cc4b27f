"""What the Slack stand-in keeps and answers: a recorded call, a member, a channel, and an
``ok: false`` answer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Handler = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Call:
    """One Web API call as the stand-in received it (the token left out)."""

    method: str
    args: dict[str, Any]
    at: float
    ok: bool = True
    error: str | None = None


@dataclass(frozen=True)
class SlackUser:
    """A workspace member that ``users.info`` knows."""

    id: str
    name: str
    real_name: str | None = None
    email: str | None = None
    is_admin: bool = False
    is_bot: bool = False
    tz: str = "America/New_York"


@dataclass
class Channel:
    """A conversation as the workspace has it, and whether the bot is a member."""

    id: str
    name: str
    private: bool = False
    archived: bool = False
    bot_member: bool = False

    def as_slack(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.private,
            "is_group": self.private,
            "is_private": self.private,
            "is_archived": self.archived,
            "is_member": self.bot_member,
        }


class SlackError(Exception):
    """An ``ok: false`` answer."""

    def __init__(
        self,
        error: str,
        *,
        status: int = 200,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})
