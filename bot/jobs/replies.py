"""The `replies` job: sends approved replies that are queued or due for a retry."""

from __future__ import annotations

from bot.flows import replies
from bot.services import Services


async def run(services: Services) -> str:
    return (await replies.deliver_due(services)).describe("replies")
