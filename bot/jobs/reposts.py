"""The `reposts` job: cards and escalation messages that Slack refused earlier."""

from __future__ import annotations

from bot.flows.escalations import repost_escalations
from bot.flows.intake import repost_cards
from bot.services import Services


async def run(services: Services) -> str:
    cards = await repost_cards(services)
    escalations = await repost_escalations(services)
    return f"{cards} card(s) and {escalations} escalation(s) reposted"
