"""The `cx-scan` job: Chatwoot conversations past the CX SLA, each carded once."""

from __future__ import annotations

from bot.flows.cx_scan import scan
from bot.services import Services


async def run(services: Services) -> str:
    return await scan(services)
