"""Clicking a decided card again and again: every click is acknowledged and counted, and each
user gets one `draft.refused` row counting their clicks and one message, not one per click."""

from __future__ import annotations

import asyncio

from bot.blocks.ids import ActionId
from bot.domain import Draft
from tests.harness import MANAGER, OPERATOR, SECOND_OPERATOR, BotUnderTest

CLICKS = 30


async def decided_card(bot: BotUnderTest, scenarios) -> Draft:
    draft = await bot.posted_draft(scenarios["demo-1-order-status"].payload)
    await bot.click(ActionId.APPROVE, draft, OPERATOR)
    await bot.settle()
    return draft


async def clicks(bot: BotUnderTest, draft: Draft, user: str, times: int = CLICKS) -> list[int]:
    responses = await asyncio.gather(
        *(bot.click(ActionId.APPROVE, draft, user) for _ in range(times))
    )
    return [r.status_code for r in responses]


async def refused_rows(bot: BotUnderTest, draft: Draft) -> list:
    return [e for e in await bot.store.entries(subject_id=draft.id) if e.outcome == "refused"]


async def test_thirty_clicks_on_a_decided_card_are_one_refusal_counting_thirty(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    draft = await decided_card(bot, scenarios)

    assert await clicks(bot, draft, SECOND_OPERATOR) == [200] * CLICKS
    await bot.settle()

    [notice] = slack.ephemerals(SECOND_OPERATOR)
    assert f"<@{OPERATOR}> already approved" in notice["text"]
    [row] = await refused_rows(bot, draft)
    assert row.actor == SECOND_OPERATOR and row.action == "draft.refused"
    assert row.payload["clicks"] == CLICKS
    assert row.payload["attempted"] == "approve" and row.payload["state"] == "approved"
    assert row.payload["first_click_at"] <= row.payload["last_click_at"]
    assert (
        len(chatwoot.sent_replies(scenarios["demo-1-order-status"].payload["conversation_id"])) == 1
    )


async def test_two_users_clicking_a_decided_card_get_one_message_and_one_row_each(
    bot: BotUnderTest, slack, scenarios
):
    draft = await decided_card(bot, scenarios)

    statuses = await asyncio.gather(
        clicks(bot, draft, SECOND_OPERATOR), clicks(bot, draft, MANAGER, CLICKS // 2)
    )
    assert statuses == [[200] * CLICKS, [200] * (CLICKS // 2)]
    await bot.settle()

    assert len(slack.ephemerals(SECOND_OPERATOR)) == 1 and len(slack.ephemerals(MANAGER)) == 1
    counted = {e.actor: e.payload["clicks"] for e in await refused_rows(bot, draft)}
    assert counted == {SECOND_OPERATOR: CLICKS, MANAGER: CLICKS // 2}


async def test_clicking_again_after_being_told_is_told_again(bot: BotUnderTest, slack, scenarios):
    draft = await decided_card(bot, scenarios)
    await clicks(bot, draft, SECOND_OPERATOR, 3)
    await bot.settle()
    await clicks(bot, draft, SECOND_OPERATOR, 2)
    await bot.settle()

    assert len(slack.ephemerals(SECOND_OPERATOR)) == 2
    assert [e.payload["clicks"] for e in await refused_rows(bot, draft)] == [3, 2]
