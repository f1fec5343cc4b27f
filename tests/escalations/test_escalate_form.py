"""The Escalate form follows the team's settings: the SLA minutes it states are the configured
ones, in the urgency choices and in the pre-filled notes alike."""

from __future__ import annotations

import json

from bot.blocks.ids import ActionId, InputId
from tests.harness import OPERATOR, BotUnderTest, settings_for


async def test_configured_sla_minutes_reach_the_notes(
    sqlite_url, slack, chatwoot, clock, scenarios
):
    settings = settings_for(
        sqlite_url, slack, chatwoot, OCC_SLA_MINUTES_URGENT=5, OCC_SLA_MINUTES_HIGH=45
    )
    bot = await BotUnderTest(settings, clock).start()
    try:
        draft = await bot.posted_draft(scenarios["demo-3-triple-charge"].payload)
        await bot.click(ActionId.ESCALATE, draft, OPERATOR)
        await bot.settle()
    finally:
        await bot.stop()

    view = slack.last("views.open").args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    [notes] = [
        b["element"] for b in view["blocks"] if b.get("block_id") == InputId.ESCALATION_NOTES
    ]
    assert "URGENCY: URGENT (5-minute SLA)" in notes["initial_value"]
    assert "15-minute" not in notes["initial_value"]
