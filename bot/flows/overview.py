"""The queue at a glance on the Home tab."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot import slack
from bot.blocks.home import home_view
from bot.services import Services

Respond = Callable[..., Awaitable[Any]]


async def publish_home(services: Services, user: str) -> None:
    """Draw the Home tab for someone who just opened it."""
    now = services.clock()
    summary = await services.store.queue_summary(now)
    view = home_view(summary, now, approvals_channel=services.settings.approvals_channel)
    await slack.publish_home(services, user, view)
