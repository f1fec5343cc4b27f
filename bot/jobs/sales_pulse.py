"""The `sales-pulse` job: Shopify read once per window, its triggers alerted once each."""

from __future__ import annotations

from bot.flows.sales_pulse import pulse
from bot.services import Services


async def run(services: Services) -> str:
    return await pulse(services)
