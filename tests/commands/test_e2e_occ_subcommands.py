"""`/occ queue [band|flag]`, `/occ export [since]` and their errors, from real slash-command
bodies; every answer is seen by the caller alone."""

from __future__ import annotations

import json

from bot.blocks.ids import ActionId
from tests.harness import MANAGER, OPERATOR, BotUnderTest, ask_occ, settings_for

OUTSIDER = "U0OUTSIDER1"


async def ask(bot: BotUnderTest, slack, text: str, user: str = OPERATOR) -> str:
    answer = await ask_occ(bot, slack, text, user)
    assert answer["response_type"] == "ephemeral"
    return answer["text"]


async def test_the_queue_lists_the_drafts_of_a_band_or_a_flag_oldest_first(
    bot: BotUnderTest, slack, clock, scenarios
):
    for key in ("exercise-1-international-shipping", "demo-2-wrong-item", "demo-3-triple-charge"):
        await bot.posted_draft(scenarios[key].payload)
        clock.advance(minutes=5)
    high = await bot.posted_draft(scenarios["practice-1-return-policy"].payload)

    highs = await ask(bot, slack, "queue high")
    linked = slack.calls("chat.getPermalink")[-1].args  # the newest high draft's card
    angry = await ask(bot, slack, "queue angry-tone")
    threats = await ask(bot, slack, "queue THREAT")
    nothing = await ask(bot, slack, "queue policy_exception")

    assert highs.startswith("*2* waiting drafts `high`, oldest first:")
    assert highs.index("Jen Walsh") < highs.index(
        scenarios["practice-1-return-policy"].payload["customer"]["name"]
    )
    assert "97% (high), waiting 15 min" in highs
    assert (linked["channel"], linked["message_ts"]) == (high.card.channel, high.card.ts)
    assert "*2* waiting drafts `angry_tone`" in angry and "flags: angry_tone" in angry
    assert "*1* waiting draft `threat`" in threats
    assert "No waiting draft is `policy_exception`" in nothing and "*4* drafts waiting" in nothing


async def test_a_bad_queue_argument_says_what_it_takes(bot: BotUnderTest, slack):
    answer = await ask(bot, slack, "queue urgent")
    assert "`urgent` is no band or flag" in answer
    assert "`high`, `medium`, `low`" in answer and "`high_value`" in answer
    too_many = await ask(bot, slack, "queue high low")
    assert "one band or flag at most" in too_many


async def test_export_sends_the_log_since_a_date_as_a_file_in_a_direct_message(
    bot: BotUnderTest, slack, clock, scenarios
):
    first = await bot.posted_draft(scenarios["demo-1-order-status"].payload)
    clock.advance(days=3)
    second = await bot.posted_draft(scenarios["exercise-1-international-shipping"].payload)
    await bot.click(ActionId.APPROVE, second, OPERATOR)
    await bot.settle()
    since = (clock.now.date()).isoformat()  # today, midnight UTC: the second draft only

    answer = await ask(bot, slack, f"export {since}", user=MANAGER)

    [shared] = slack.files()
    rows = [json.loads(line) for line in shared["content"].decode().splitlines()]
    expected = await bot.store.entries(
        since=clock.now.replace(hour=0, minute=0, second=0, microsecond=0)
    )
    assert [r["id"] for r in rows] == [e.id for e in expected]
    assert {r["subject_id"] for r in rows} == {second.id} and first.id not in str(rows)
    assert "draft.approved" in [r["action"] for r in rows]
    assert shared["channel"] == slack.channel_id(MANAGER)  # the direct message
    assert shared["filename"] == f"occ-decision-log-since-{since}.ndjson"
    assert f"({len(rows)} rows) in a direct message" in answer


async def test_export_refuses_a_bad_date_and_an_outsider_and_sends_nothing(
    sqlite_url, slack, chatwoot, clock
):
    settings = settings_for(sqlite_url, slack, chatwoot, OCC_OPERATORS=OPERATOR)
    bot = await BotUnderTest(settings, clock).start()
    try:
        not_a_date = await ask(bot, slack, "export last-tuesday", user=MANAGER)
        no_zone = await ask(bot, slack, "export 2026-11-30T09:00", user=MANAGER)
        future = await ask(bot, slack, "export 2999-01-01", user=MANAGER)
        operator = await ask(bot, slack, "export")  # an operator, not a manager
        outsider = await ask(bot, slack, "export", user=OUTSIDER)
        manager = await ask(bot, slack, "export", user=MANAGER)
    finally:
        await bot.stop()
    assert (
        "`last-tuesday` is no date" in not_a_date and "Usage: `/occ export [since]`" in not_a_date
    )
    assert "has no time zone" in no_zone
    assert "is in the future" in future
    assert "Only managers (OCC_MANAGERS) can export" in outsider
    assert "Only managers (OCC_MANAGERS) can export" in operator
    assert "nothing to export" in manager  # a manager may; the log is empty
    assert slack.files() == []


async def test_stats_show_the_callers_numbers_and_the_teams_against_the_targets(
    bot: BotUnderTest, slack, clock, scenarios
):
    clock.now = clock.now.replace(hour=12, minute=0)  # a known day, away from midnight
    drafts = [
        await bot.posted_draft(scenarios[key].payload)
        for key in ("demo-1-order-status", "exercise-1-international-shipping", "demo-2-wrong-item")
    ]
    clock.advance(minutes=2)
    await bot.click(ActionId.APPROVE, drafts[0], OPERATOR)  # 2 min
    clock.advance(minutes=2)
    await bot.click(ActionId.APPROVE, drafts[1], OPERATOR)  # 4 min
    await bot.settle()
    clock.advance(minutes=6)
    await bot.submit_reject(drafts[2].id, MANAGER, "wrong_tone")  # 10 min, by the manager
    await bot.settle()

    mine = await ask(bot, slack, "stats")
    theirs = await ask(bot, slack, f"stats week <@{OPERATOR}|op>", user=MANAGER)
    refused = await ask(bot, slack, f"stats <@{MANAGER}>")
    bad = await ask(bot, slack, "stats yesterday")

    assert "*Your numbers today" in mine
    assert "*2* decisions: 2 approved, 0 edited, 0 rejected, 0 escalated" in mine
    assert "median 2 min :white_check_mark: (target under 3 min), p90 4 min" in mine
    team = mine[mine.index("*The team today:*") :]
    assert "*3* decisions: 2 approved, 0 edited, 1 rejected, 0 escalated" in team
    assert "median 4 min :x:" in team and "p90 10 min" in team
    assert "escalation rate 0% :x: (target 10–15 %)" in team
    assert f"<@{OPERATOR}>'s numbers this week" in theirs and "*2* decisions" in theirs
    assert "Only managers can see someone else's numbers" in refused
    assert "`yesterday` is no period or person" in bad and "Usage: `/occ stats" in bad
