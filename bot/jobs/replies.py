"""The `replies` job: retries replies that are due and posts cards that never reached Slack."""

from __future__ import annotations

from bot import replies
from bot.services import Services


async def run(services: Services) -> str:
    tried = await replies.deliver_due(services)
    return f"{tried} repl{'y' if tried == 1 else 'ies'} tried"
