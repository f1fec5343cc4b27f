"""The queue at a glance: the `/occ` answer and the Home tab."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot import slack
from bot.blocks.home import home_view
from bot.blocks.queue import HELP, queue_text
from bot.blocks.text import inline
from bot.services import Services

Respond = Callable[..., Awaitable[Any]]


async def answer_command(services: Services, text: str, respond: Respond) -> None:
    """Answer `/occ [subcommand]` only to the person who asked (its response_url)."""
    word = text.strip().lower() or "queue"
    if word == "queue":
        now = services.clock()
        summary = await services.store.queue_summary(now)
        answer = queue_text(summary, now, approvals_channel=services.settings.approvals_channel)
    else:
        answer = HELP if word == "help" else f"I don't know `{inline(word, 40)}`.\n\n{HELP}"
    await respond(text=answer, response_type="ephemeral")


async def publish_home(services: Services, user: str) -> None:
    """Draw the Home tab for someone who just opened it."""
    now = services.clock()
    summary = await services.store.queue_summary(now)
    view = home_view(summary, now, approvals_channel=services.settings.approvals_channel)
    await slack.publish_home(services, user, view)
