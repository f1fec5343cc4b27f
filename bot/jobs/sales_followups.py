"""The `sales-followups` job: remind owners of Sales Pulse follow-ups past their due date."""

from __future__ import annotations

from bot.flows.sales_alerts import remind_followups
from bot.services import Services


async def run(services: Services) -> str:
    reminded = await remind_followups(services)
    return f"{reminded} follow-up owners reminded"
