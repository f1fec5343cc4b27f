"""The `reminders` job: SLA reminders that are due, and those Slack did not take earlier."""

from __future__ import annotations

from bot.flows.reminders import remind_due, repost_reminders
from bot.services import Services


async def run(services: Services) -> str:
    taken = await remind_due(services)
    reposted = await repost_reminders(services)
    return f"{taken.describe('due reminders')}; {reposted.describe('unposted reminders')}"
