"""Reminders held up by Slack's rate limit: a planned burst meeting 429s for a couple of
minutes pages nobody; a reminder more than a reminder period (the shortest SLA, Urgent's 15
minutes) past its due time is one incident in #occ-reliability, resolved once reminders have
caught up. The jobs run as the scheduler runs them, on the injected clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.demo.standins.slack import SlackStandin
from bot.jobs import JOBS
from bot.jobs.runner import run_once
from tests.escalations.seeding import seed_escalations
from tests.harness import BotUnderTest, FakeClock, settings_for

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
RELIABILITY = "#occ-reliability"
ATTEMPTS_PER_POST = 6  # the first post and its five retries after a 429


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
async def bot(sqlite_url, slack, chatwoot, clock) -> AsyncIterator[BotUnderTest]:
    """Jobs every 30 s, as by default: a job not started for a minute counts as behind."""
    settings = settings_for(sqlite_url, slack, chatwoot, OCC_JOB_TICK_SECONDS=30)
    instance = await BotUnderTest(settings, clock).start()
    try:
        yield instance
    finally:
        await instance.stop()


async def run(bot: BotUnderTest, job: str) -> None:
    await run_once(bot.services, JOBS[job])
    await bot.settle()


async def reminder_held_up(bot: BotUnderTest, slack: SlackStandin, clock: FakeClock) -> str:
    """An escalation due now whose reminder Slack answers with 429s, retries and all."""
    [escalation_id] = await seed_escalations(bot.store, slack.api_url, [clock()])
    slack.fail_next("chat.postMessage", "ratelimited", retry_after=0, times=ATTEMPTS_PER_POST)
    await run(bot, "reminders")
    return escalation_id


async def reliability_log(bot: BotUnderTest) -> list[str]:
    return [
        e.action
        for e in await bot.store.entries(subject_id="reminders")
        if e.action.startswith("reliability.")
    ]


async def test_a_two_minute_rate_limit_during_a_burst_pages_nobody(
    bot: BotUnderTest, slack: SlackStandin, clock: FakeClock
):
    escalation_id = await reminder_held_up(bot, slack, clock)
    clock.advance(minutes=2)  # the reminders run is still working through its burst
    await run(bot, "health")

    reminded = [e for e in await bot.store.entries(subject_id=escalation_id)]
    assert [e.outcome.value for e in reminded if e.action == "escalation.reminded"] == ["retry"]
    assert slack.messages_in(RELIABILITY) == []
    assert [e for e in await bot.store.entries() if e.action == "reliability.alert"] == []


async def test_a_reminder_a_period_late_is_one_incident_resolved_once_reminders_catch_up(
    bot: BotUnderTest, slack: SlackStandin, clock: FakeClock
):
    escalation_id = await reminder_held_up(bot, slack, clock)
    clock.advance(minutes=14)
    await run(bot, "health")
    assert slack.messages_in(RELIABILITY) == []  # late, not yet a period late

    clock.advance(minutes=2)
    await run(bot, "health")
    clock.advance(seconds=30)
    await run(bot, "health")
    [alert] = slack.messages_in(RELIABILITY)
    assert "reminders are 16 min behind" in alert["text"]
    assert await reliability_log(bot) == ["reliability.alert"]

    clock.advance(seconds=30)
    await run(bot, "reminders")  # Slack takes posts again: the held-up reminder goes out
    await run(bot, "health")

    escalation = await bot.store.get_escalation(escalation_id)
    assert escalation is not None and escalation.message is not None
    assert len(slack.thread(escalation.message.channel, escalation.message.ts)) == 1
    alert, recovered = slack.messages_in(RELIABILITY)
    assert "caught up" in recovered["text"]
    assert await reliability_log(bot) == ["reliability.alert", "reliability.recovered"]
