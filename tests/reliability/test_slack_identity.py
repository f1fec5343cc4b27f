"""The bot asks Slack who it is (auth.test) once per start, not once per request that arrives
before the first answer."""

from __future__ import annotations

import asyncio

from bot.blocks.ids import ActionId
from tests.harness import OPERATOR, SECOND_OPERATOR, BotUnderTest, eventually

AUTHORIZE = "bot_identity.<locals>.authorize"  # bot.slack's `authorize` hook, given to Bolt


def tasks_inside(qualname: str) -> int:
    """How many tasks are suspended somewhere inside the function named ``qualname``, found
    by following each task's chain of awaited coroutines."""
    count = 0
    for task in asyncio.all_tasks():
        coro = task.get_coro()
        while coro is not None:
            code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
            if code is not None and code.co_qualname == qualname:
                count += 1
                break
            coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return count


async def test_a_burst_of_clicks_after_a_start_asks_auth_test_once(
    bot: BotUnderTest, slack, scenarios
) -> None:
    drafts = [
        await bot.posted_draft(scenarios[key].payload)
        for key in ("demo-1-order-status", "demo-2-wrong-item", "exercise-2-add-warmth")
    ]

    slow_slack = slack.hold("auth.test")  # every click arrives before the first answer
    clicks = [
        asyncio.create_task(bot.click(ActionId.APPROVE, draft, user))
        for draft in drafts
        for user in (OPERATOR, SECOND_OPERATOR)
    ]
    await eventually(lambda: tasks_inside(AUTHORIZE) == len(clicks))  # all six are asking
    await eventually(lambda: slow_slack.held)  # and the first auth.test is held by Slack
    slow_slack.set()
    responses = await asyncio.gather(*clicks)
    await bot.settle()
    await bot.click(ActionId.APPROVE, drafts[0], OPERATOR)
    await bot.settle()

    assert [r.status_code for r in responses] == [200] * 6
    assert len(slack.calls("auth.test")) == 1
