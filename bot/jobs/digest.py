"""The `digest` job: the weekly digest, once a week, when it is due."""

from __future__ import annotations

from bot.flows import digest
from bot.services import Services


async def run(services: Services) -> str:
    return await digest.post_weekly(services)
