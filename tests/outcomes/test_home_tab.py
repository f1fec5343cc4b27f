"""The Home tab for someone Slack will not publish to is a warning, not a failure."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from bot.blocks.ids import ActionId
from tests.harness import MANAGER, OPERATOR, SECOND_OPERATOR, BotUnderTest, settings_for

FIXTURES = Path(__file__).parents[1] / "fixtures" / "real"


async def test_a_home_tab_slack_refuses_is_a_warning_and_nothing_else(
    bot: BotUnderTest, slack, caplog
) -> None:
    envelope = json.loads(
        (FIXTURES / "slack_events_api_app_home_opened_home_tab_java_sdk.json").read_text()
    )
    envelope["event"]["user"] = "U0NOBODY42"  # well formed, but no such user
    slack.fail_next("views.publish", "user_not_found")

    with caplog.at_level(logging.WARNING, logger="occ"):
        response = await bot.slack.send_event(envelope)
        await bot.settle()

    assert response.status_code == 200
    [call] = slack.calls("views.publish")
    assert call.error == "user_not_found"
    assert any(
        "could not publish the Home tab for U0NOBODY42: user_not_found" in record.getMessage()
        for record in caplog.records
    )


def published(slack, user: str) -> list[str]:
    """The Home views published for ``user``, as text, oldest first."""
    views = []
    for call in slack.calls("views.publish"):
        if call.args["user_id"] == user:
            view = call.args["view"]
            view = json.loads(view) if isinstance(view, str) else view
            views.append(json.dumps(view, ensure_ascii=False))
    return views


async def test_the_home_tab_lists_the_waiting_drafts_and_follows_the_users_decisions(
    sqlite_url, slack, chatwoot, clock, scenarios
) -> None:
    settings = settings_for(sqlite_url, slack, chatwoot, OCC_HOME_REFRESH_SECONDS=0.5)
    bot = await BotUnderTest(settings, clock).start()
    try:
        first = await bot.posted_draft(scenarios["demo-1-order-status"].payload)
        clock.advance(minutes=4)
        second = await bot.posted_draft(scenarios["exercise-1-international-shipping"].payload)
        third = await bot.posted_draft(scenarios["practice-1-return-policy"].payload)
        envelope = json.loads(
            (FIXTURES / "slack_events_api_app_home_opened_home_tab_java_sdk.json").read_text()
        )
        for user in (OPERATOR, MANAGER):
            envelope["event"]["user"] = user
            await bot.slack.send_event(envelope)
            await bot.settle()
        await bot.click(ActionId.APPROVE, first, OPERATOR)  # two quick decisions:
        await bot.click(ActionId.APPROVE, second, OPERATOR)  # one redraw
        await bot.settle()
    finally:
        await bot.stop()

    opened, redrawn = published(slack, OPERATOR)
    linked = [(c.args["channel"], c.args["message_ts"]) for c in slack.calls("chat.getPermalink")]
    assert len(linked) == len(set(linked)) == 3  # three cards, each link asked of Slack once
    link = f"archives/{first.card.channel}/p{first.card.ts.replace('.', '')}"
    assert "*3* drafts waiting" in opened and link in opened and "waiting 4 min" in opened
    assert opened.index("Susan") < opened.index("Jen Walsh")  # oldest first
    assert "*1* draft waiting" in redrawn and link not in redrawn
    assert third.input.customer.name in redrawn
    assert len(published(slack, MANAGER)) == 1  # only the deciding user's tab is redrawn


async def open_home(bot: BotUnderTest, user: str) -> None:
    envelope = json.loads(
        (FIXTURES / "slack_events_api_app_home_opened_home_tab_java_sdk.json").read_text()
    )
    envelope["event"]["user"] = user
    await bot.slack.send_event(envelope)
    await bot.settle()


async def test_the_home_tab_shows_the_viewers_numbers_the_teams_and_a_managers_escalations(
    bot: BotUnderTest, slack, clock, scenarios
) -> None:
    clock.now = clock.now.replace(hour=12, minute=0)
    await open_home(bot, SECOND_OPERATOR)  # an empty log
    first = await bot.posted_draft(scenarios["demo-1-order-status"].payload)
    second = await bot.posted_draft(scenarios["demo-3-triple-charge"].payload)
    clock.advance(minutes=1)
    await bot.click(ActionId.APPROVE, first, OPERATOR)
    await bot.submit_escalation(second.id, OPERATOR, type="high_value", urgency="urgent", notes="x")
    await bot.settle()
    await open_home(bot, SECOND_OPERATOR)  # no decisions of their own
    await open_home(bot, MANAGER)

    [empty, idle] = published(slack, SECOND_OPERATOR)
    [operator] = published(slack, OPERATOR)  # redrawn after their decisions
    [manager] = published(slack, MANAGER)
    assert "no decisions" in empty and "CX SLA breaches: 0" in empty
    assert "Open escalations" not in empty + idle + operator  # not managers
    mine = operator[operator.index("Your numbers today") : operator.index("The team today")]
    assert "*2* decisions: 1 approved, 0 edited, 0 rejected, 1 escalated" in mine
    assert "median 1 min :white_check_mark:" in mine
    assert "escalation rate 50% :x: (target 10–15 %)" in operator
    assert "Your numbers today*\\n• no decisions" in idle
    assert "*2* decisions" in idle  # the team's
    assert "Open escalations" in manager and "High-Value Issue" in manager
    assert "*unclaimed*" in manager and "conversation #" in manager


async def test_the_queue_is_shown_to_operators_and_managers_only(
    sqlite_url, slack, chatwoot, clock, scenarios
) -> None:
    """Customers' names and amounts went to every workspace member (issue 18, finding 9)."""
    from tests.harness import OUTSIDER, ask_occ

    settings = settings_for(sqlite_url, slack, chatwoot, OCC_OPERATORS=OPERATOR)
    bot = await BotUnderTest(settings, clock).start()
    try:
        draft = await bot.posted_draft(scenarios["demo-1-order-status"].payload)
        name = draft.input.customer.name
        for user in (OPERATOR, OUTSIDER):
            envelope = json.loads(
                (FIXTURES / "slack_events_api_app_home_opened_home_tab_java_sdk.json").read_text()
            )
            envelope["event"]["user"] = user
            await bot.slack.send_event(envelope)
            await bot.settle()
        outsider_queue = (await ask_occ(bot, slack, "queue", user=OUTSIDER))["text"]
        operator_queue = (await ask_occ(bot, slack, "queue high", user=OPERATOR))["text"]
    finally:
        await bot.stop()

    [operators_tab] = published(slack, OPERATOR)
    [outsiders_tab] = published(slack, OUTSIDER)
    assert name in operators_tab and name in operator_queue
    assert name not in outsiders_tab and "operators and managers only" in outsiders_tab
    assert name not in outsider_queue and "operators and managers only" in outsider_queue
