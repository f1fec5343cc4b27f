"""Who a message calls on: Slack mentions for a level of the escalation chain."""

from __future__ import annotations

from collections.abc import Iterable

from bot.blocks import text as t
from bot.rules.chain import Level, LevelKind


def group_mention(group_id: str) -> str:
    return f"<!subteam^{group_id}>"


def managers_mention(managers: Iterable[str], group: str | None) -> str:
    """``<@U1> <@U2>`` for OCC_MANAGERS, then the OCC_MANAGERS_GROUP user group; empty if
    neither is set."""
    called = [t.mention(user) for user in sorted(managers)]
    if group:
        called.append(group_mention(group))
    return " ".join(called)


def level_mention(level: Level, managers: Iterable[str], group: str | None) -> str:
    """The mention that calls on ``level``; a channel level is told in that channel, so it
    is named (``#name`` or ``<#C…>``) rather than mentioned."""
    if level.kind is LevelKind.MANAGERS:
        return managers_mention(managers, group)
    if level.kind is LevelKind.USER:
        return t.mention(level.target)
    if level.kind is LevelKind.GROUP:
        return group_mention(level.target)
    return level.target if level.target.startswith("#") else f"<#{level.target}>"
