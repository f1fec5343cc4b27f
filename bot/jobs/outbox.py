"""The `outbox` job: Chatwoot messages (managers' replies, resolution notes) due for a retry,
or whose worker died."""

from __future__ import annotations

from bot.flows.outbox import deliver_due
from bot.services import Services


async def run(services: Services) -> str:
    return (await deliver_due(services)).describe("outbox messages")
