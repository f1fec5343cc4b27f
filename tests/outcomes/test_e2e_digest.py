"""The weekly digest: last week's numbers beside the week before, three real PNG charts in its
thread, the most edited topics and the top rejection reasons; once a week, when due; and
`occ-bot digest --out DIR` writes the same locally."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

from bot.blocks.ids import ActionId
from bot.flows.digest import build_digest, post_digest
from bot.jobs import JOBS
from bot.rules.periods import period_start
from tests.commands.test_cli import occ_bot
from tests.harness import OPERATOR, BotUnderTest, settings_for

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # the digest's week: Nov 23 to 29


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


async def decide_two_weeks(bot: BotUnderTest, clock, scenarios, monday=MONDAY) -> None:
    clock.now = monday - timedelta(days=7)  # the week before: one edit, about returns too
    earlier = await bot.posted_draft(scenarios["practice-1-return-policy"].payload)
    await bot.submit_edit(earlier.id, OPERATOR, "Hi! Yes: 30 days, full refund.")
    await bot.settle()  # decided now, not when the clock has moved on
    clock.now = monday
    approved = await bot.posted_draft(scenarios["demo-1-order-status"].payload)
    clock.advance(minutes=2)
    await bot.click(ActionId.APPROVE, approved, OPERATOR)
    await bot.settle()  # decided now, not when the clock has moved on
    clock.advance(days=1)
    edited = await bot.posted_draft(scenarios["demo-2-wrong-item"].payload)
    clock.advance(minutes=4)
    await bot.submit_edit(edited.id, OPERATOR, "Hi Alex, so sorry! The blue one ships today.")
    await bot.settle()  # decided now, not when the clock has moved on
    clock.advance(days=1)
    rejected = await bot.posted_draft(scenarios["exercise-3-wrong-return-window"].payload)
    clock.advance(minutes=1)
    await bot.submit_reject(rejected.id, OPERATOR, "factual_error", "The window is 30 days")
    await bot.settle()  # decided now, not when the clock has moved on
    clock.advance(days=1)
    escalated = await bot.posted_draft(scenarios["demo-3-triple-charge"].payload)
    clock.advance(minutes=10)
    await bot.submit_escalation(
        escalated.id, OPERATOR, type="high_value", urgency="urgent", notes="Charged three times"
    )
    await bot.settle()


async def test_the_digest_is_posted_once_when_due_with_its_numbers_and_charts(
    bot: BotUnderTest, slack, clock, scenarios
):
    await decide_two_weeks(bot, clock, scenarios)
    clock.now = datetime(2026, 11, 30, 8, 30, tzinfo=UTC)  # Monday, before OCC_DIGEST_HOUR
    early = await JOBS["digest"].run(bot.services)
    clock.now = datetime(2026, 11, 30, 9, 5, tzinfo=UTC)
    posted = await JOBS["digest"].run(bot.services)
    again = await JOBS["digest"].run(bot.services)
    await bot.settle()

    assert (early, posted, again) == ("not due", "posted", "already posted this week")
    [digest] = [m for m in slack.messages_in("#occ-approvals") if "Weekly digest" in m["text"]]
    text = digest["text"]
    assert "the week of Nov 23" in text
    assert "*4* decisions: 1 approved, 1 edited, 1 rejected, 1 escalated" in text
    assert "median 2 min :white_check_mark:" in text and "p90 10 min" in text  # 1 2 4 10
    assert "escalation rate 25% :x: (target 10–15 %)" in text
    assert "*The week before:*\n• *1* decision: 0 approved, 1 edited" in text
    assert "decisions +300 % on the week before" in text
    assert "Return Policy: 1 edit, e.g." in text  # last week's edit is not this week's
    assert "factual error: 1 rejection, e.g." in text and "(The window is 30 days)" in text
    charts = [f for f in slack.files() if f.get("thread_ts") == digest["ts"]]
    assert sorted(f["filename"] for f in charts) == [
        "decisions-per-day.png",
        "escalation-rate.png",
        "time-to-decide.png",
    ]
    assert {png_size(f["content"]) for f in charts} == {(800, 325)}


async def test_digest_out_writes_the_markdown_and_the_charts(
    bot: BotUnderTest, clock, scenarios, sqlite_url, tmp_path
):
    # The command reads the real clock: the decisions go in the last full week before now.
    last_monday = period_start("week", datetime.now(UTC), UTC) - timedelta(days=7)
    await decide_two_weeks(bot, clock, scenarios, monday=last_monday + timedelta(hours=10))
    out = tmp_path / "digest"

    result = occ_bot("digest", "--out", str(out), env={"DATABASE_URL": sqlite_url})

    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(p.name for p in out.iterdir()) == [
        "decisions-per-day.png",
        "digest.md",
        "escalation-rate.png",
        "time-to-decide.png",
    ]
    markdown = (out / "digest.md").read_text(encoding="utf-8")
    assert "**Weekly digest" in markdown and "![time-to-decide.png](time-to-decide.png)" in markdown
    assert "**4** decisions: 1 approved, 1 edited, 1 rejected, 1 escalated" in markdown
    assert png_size((out / "escalation-rate.png").read_bytes()) == (800, 325)


async def test_a_refused_digest_is_posted_at_the_next_run_and_never_twice(
    bot: BotUnderTest, slack, clock, scenarios
):
    await decide_two_weeks(bot, clock, scenarios)
    clock.now = datetime(2026, 11, 30, 9, 5, tzinfo=UTC)
    slack.fail_next("chat.postMessage", "channel_not_found")
    refused = await JOBS["digest"].run(bot.services)
    by_hand = await post_digest(bot.services, await build_digest(bot.services, clock.now))
    clock.advance(minutes=15)
    job = await JOBS["digest"].run(bot.services)  # finds the digest posted by hand
    await bot.settle()

    assert refused.startswith("not posted") and by_hand is not None and job == "posted"
    digests = [m for m in slack.messages_in("#occ-approvals") if "Weekly digest" in m["text"]]
    assert len(digests) == 1


async def test_a_digest_channel_the_bot_was_removed_from_is_joined_again_and_posted_in(
    bot: BotUnderTest, slack, clock
):
    slack.kick("#occ-approvals")  # real Slack: reading its history now answers not_in_channel
    clock.now = datetime(2026, 11, 30, 9, 5, tzinfo=UTC)

    assert await JOBS["digest"].run(bot.services) == "posted"
    await bot.settle()
    assert slack.is_member("#occ-approvals")
    assert [m for m in slack.messages_in("#occ-approvals") if "Weekly digest" in m["text"]]


async def test_a_private_digest_channel_the_bot_is_not_in_is_one_alert_not_endless_retries(
    sqlite_url, slack, chatwoot, clock
):
    from tests.harness import settings_for

    slack.add_channel("occ-leads", private=True)
    settings = settings_for(sqlite_url, slack, chatwoot, OCC_DIGEST_CHANNEL="#occ-leads")
    clock.now = datetime(2026, 11, 30, 8, 50, tzinfo=UTC)
    bot = await BotUnderTest(settings, clock).start()  # names #occ-leads in its log at start
    try:
        clock.now = datetime(2026, 11, 30, 9, 5, tzinfo=UTC)
        tries = [await JOBS["digest"].run(bot.services) for _ in range(3)]
        await bot.settle()
        alerts = [m["text"] for m in slack.messages_in("#occ-reliability")]
        posts = slack.calls("chat.postMessage")
        health = (await bot._http.get(f"{bot.url}/healthz")).json()

        assert tries[0].startswith("not posted") and tries[1].startswith("waiting"), tries
        assert len([a for a in alerts if "#occ-leads" in a]) == 1
        assert "/invite @occ-bot" in alerts[-1]
        assert [p.args["channel"] for p in posts].count("#occ-leads") == 1  # not every tick
        assert "/invite @occ-bot" in health["channels"]["#occ-leads"]

        slack.invite("#occ-leads")  # someone invites the bot; the next try after the wait posts
        clock.advance(minutes=6)
        assert await JOBS["digest"].run(bot.services) == "posted"
        await bot.settle()
        assert "works in #occ-leads again" in slack.messages_in("#occ-reliability")[-1]["text"]
        assert (await bot._http.get(f"{bot.url}/healthz")).json()["channels"] == {}
    finally:
        await bot.stop()


async def test_the_digest_goes_out_only_on_its_weekday(sqlite_url, slack, chatwoot, clock):
    """OCC_DIGEST_WEEKDAY=fri: every other day of the week, at any hour, is not due."""
    settings = settings_for(sqlite_url, slack, chatwoot, OCC_DIGEST_WEEKDAY="fri")
    bot = await BotUnderTest(settings, clock).start()
    try:
        answers = {}
        for day in range(7):  # Monday Nov 30 to Sunday Dec 6, at 10:00 and 23:00
            for hour in (10, 23):
                clock.now = datetime(2026, 11, 30, hour, 0, tzinfo=UTC) + timedelta(days=day)
                answers[f"{clock.now:%a} {hour}h"] = await JOBS["digest"].run(bot.services)
        await bot.settle()
    finally:
        await bot.stop()
    posted = [when for when, said in answers.items() if said == "posted"]
    assert posted == ["Fri 10h"]
    assert answers["Fri 23h"] == "already posted this week"
    assert {answers[f"{day} {hour}h"] for day in ("Mon", "Thu", "Sat") for hour in (10, 23)} == {
        "not due"
    }
    assert (
        len([m for m in slack.messages_in("#occ-approvals") if "Weekly digest" in m["text"]]) == 1
    )
