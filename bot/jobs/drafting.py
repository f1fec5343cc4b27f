"""The `drafting` job: drafts customers' messages whose own drafting was lost or failed."""

from __future__ import annotations

from bot.flows import drafting
from bot.services import Services


async def run(services: Services) -> str:
    return (await drafting.draft_waiting(services)).describe("conversations")
