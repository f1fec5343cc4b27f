"""`/occ`: the queue at a glance, answered only to whoever asked."""

from __future__ import annotations

import json
from pathlib import Path

from bot.blocks.ids import ActionId
from tests.harness import OPERATOR, BotUnderTest, ask_occ

FIXTURES = Path(__file__).parents[1] / "fixtures" / "real"


async def ask(bot: BotUnderTest, slack, text: str) -> dict:
    return await ask_occ(bot, slack, text)


async def test_queue_counts_what_is_waiting(bot: BotUnderTest, slack, chatwoot, clock, scenarios):
    first = await bot.posted_draft(scenarios["demo-1-order-status"].payload)
    await bot.posted_draft(scenarios["exercise-1-international-shipping"].payload)
    await bot.posted_draft(scenarios["demo-3-triple-charge"].payload)
    clock.advance(minutes=12)
    chatwoot.down(503)
    await bot.click(ActionId.APPROVE, first, OPERATOR)
    await bot.settle()

    answer = await ask(bot, slack, "queue")

    assert answer["response_type"] == "ephemeral"
    assert "*2* drafts waiting" in answer["text"] and "12 min" in answer["text"]
    assert "*1* reply not sent yet" in answer["text"]
    assert "*0* open escalations" in answer["text"]


async def test_help_and_unknown_words(bot: BotUnderTest, slack):
    assert "/occ queue" in (await ask(bot, slack, "help"))["text"]
    unknown = await ask(bot, slack, "launch-rockets")
    assert "don't know `launch-rockets`" in unknown["text"] and "/occ queue" in unknown["text"]


async def test_opening_the_home_tab_publishes_the_queue(bot: BotUnderTest, slack, scenarios):
    await bot.posted_draft(scenarios["demo-1-order-status"].payload)
    envelope = json.loads(
        (FIXTURES / "slack_events_api_app_home_opened_home_tab_java_sdk.json").read_text()
    )
    envelope["event"]["user"] = OPERATOR

    response = await bot.slack.send_event(envelope)
    await bot.settle()

    assert response.status_code == 200
    [call] = slack.calls("views.publish")
    assert call.args["user_id"] == OPERATOR
    view = call.args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["type"] == "home" and "*1* draft waiting" in json.dumps(view)
