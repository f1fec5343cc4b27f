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


async def test_a_click_refused_for_another_reason_is_a_refusal_of_its_own(
    bot: BotUnderTest, slack, scenarios
):
    # High value and a threat: only a manager may approve. The operator is refused for that,
    # a manager approves, and the operator's next click is refused because it is approved.
    draft = await bot.posted_draft(scenarios["exercise-6-angry-high-value"].payload)
    await bot.click(ActionId.APPROVE, draft, OPERATOR)
    await bot.click(ActionId.APPROVE, draft, MANAGER)
    for _ in range(200):  # the approval lands while the operator's refusal is still grouping
        if (await bot.store.get_draft(draft.id)).decision is not None:
            break
        await asyncio.sleep(0.005)
    await bot.click(ActionId.APPROVE, draft, OPERATOR)
    await bot.settle()

    rows = [e for e in await refused_rows(bot, draft) if e.actor == OPERATOR]
    assert sorted(r.payload["state"] for r in rows) == ["approved", "pending"]
    told = [m["text"] for m in slack.ephemerals(OPERATOR)]
    assert len(told) == 2 and any(f"<@{MANAGER}> already approved" in t for t in told)
