"""The `replies` job: sends approved replies that are queued or due for a retry."""

from __future__ import annotations

from bot.flows import replies
from bot.services import Services


async def run(services: Services) -> str:
    tried = await replies.deliver_due(services)
    return f"{tried} repl{'y' if tried == 1 else 'ies'} tried"
