"""Reminders falling due together in one channel, posted at Slack's rate: a burst waits its
turn instead of meeting 429s, a 429 that still comes is waited out, and the escalation
message is redrawn once per pacing window, showing its last state.

The Slack stand-in enforces a per-channel posting limit (`limit_posts`) on the real clock,
and the bot is told the same rate; due times follow the injected clock, moved by the test.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.blocks.ids import ActionId
from bot.demo.standins.slack import SlackStandin
from bot.domain import Escalation
from bot.jobs import JOBS
from tests.escalations.seeding import seed_escalations
from tests.harness import MANAGER, BotUnderTest, FakeClock, settings_for

RATE = 20.0  # posts a second per channel, the stand-in's and the bot's
LEAD = "U0LEAD0001"
# Due order differs from the order the escalations were posted in.
DUE_ORDER = [7, 2, 9, 0, 5, 11, 3, 8, 1, 10, 4, 6]


async def start_bot(sqlite_url, slack, chatwoot, clock, **settings) -> BotUnderTest:
    return await BotUnderTest(settings_for(sqlite_url, slack, chatwoot, **settings), clock).start()


@pytest.fixture
async def paced_bot(sqlite_url, slack, chatwoot, clock) -> AsyncIterator[BotUnderTest]:
    """Paced at the stand-in's rate, with a smaller burst than the stand-in allows (Slack's
    burst is not published: the bot's default stays below what is seen)."""
    bot = await start_bot(
        sqlite_url, slack, chatwoot, clock, OCC_SLACK_POSTS_PER_SECOND=RATE, OCC_SLACK_POST_BURST=2
    )
    try:
        yield bot
    finally:
        await bot.stop()


async def escalations_due(bot: BotUnderTest, slack: SlackStandin, clock: FakeClock) -> list[str]:
    """Escalations whose due times are spread in `DUE_ORDER`, all due after one advance."""
    start = clock() + timedelta(minutes=1)
    due = [start + timedelta(milliseconds=10 * rank) for rank in DUE_ORDER]
    ids = await seed_escalations(bot.store, slack.api_url, due)
    clock.advance(minutes=2)
    return ids


def reminders_in_order(slack: SlackStandin, escalations: list[Escalation]) -> list[str]:
    """The escalations whose threads got a reminder, in the order the reminders were posted."""
    by_thread = {e.message.ts: e.id for e in escalations if e.message is not None}
    return [
        by_thread[m["thread_ts"]]
        for m in slack.messages_in("#occ-escalations")
        if m.get("thread_ts") in by_thread
    ]


def rate_limited_posts(slack: SlackStandin) -> int:
    return sum(1 for c in slack.calls("chat.postMessage") if c.error == "ratelimited")


async def test_a_burst_of_reminders_in_one_channel_meets_no_429_and_goes_out_once_in_due_order(
    paced_bot: BotUnderTest, slack: SlackStandin, clock: FakeClock
):
    ids = await escalations_due(paced_bot, slack, clock)
    slack.limit_posts(RATE, burst=4)

    await JOBS["reminders"].run(paced_bot.services)
    await paced_bot.settle()

    assert rate_limited_posts(slack) == 0
    escalations = [await paced_bot.store.get_escalation(i) for i in ids]
    posted = reminders_in_order(slack, [e for e in escalations if e is not None])
    by_due = [ids[n] for n in sorted(range(len(ids)), key=lambda n: DUE_ORDER[n])]
    assert posted == by_due  # each once, earliest due first


async def test_a_429_that_still_comes_is_waited_out_and_the_reminder_posted_once(
    paced_bot: BotUnderTest, slack: SlackStandin, clock: FakeClock
):
    """Another replica may have used the channel's share: Slack's 429 is honoured (its
    Retry-After held), then the same reminder is posted, once, and nobody is paged."""
    [escalation_id] = await seed_escalations(paced_bot.store, slack.api_url, [clock()])
    clock.advance(minutes=1)
    slack.fail_next("chat.postMessage", "ratelimited", retry_after=1, times=2)

    await JOBS["reminders"].run(paced_bot.services)
    await paced_bot.settle()

    assert rate_limited_posts(slack) == 2
    escalation = await paced_bot.store.get_escalation(escalation_id)
    assert escalation is not None and escalation.message is not None
    assert len(slack.thread(escalation.message.channel, escalation.message.ts)) == 1
    reminded = [
        e.outcome.value
        for e in await paced_bot.store.entries(subject_id=escalation_id)
        if e.action == "escalation.reminded"
    ]
    assert reminded == ["success"]
    assert slack.messages_in("#occ-reliability") == []


async def test_redraws_of_one_escalation_within_a_window_are_one_update_showing_the_last_state(
    sqlite_url, slack: SlackStandin, chatwoot, clock: FakeClock
):
    """Two reminders (the second up the chain) and a claim within one pacing window: the
    escalation message gets one chat.update, and it shows the claim."""
    bot = await start_bot(
        sqlite_url,
        slack,
        chatwoot,
        clock,
        OCC_SLACK_POSTS_PER_SECOND=0.2,  # a 5 s window, longer than the three steps take
        OCC_SLACK_POST_BURST=10,
        OCC_ESCALATION_CHAIN=f"managers,{LEAD}",
        OCC_REMINDERS_PER_LEVEL=1,
    )
    try:
        [escalation_id] = await seed_escalations(bot.store, slack.api_url, [clock()])
        escalation = await bot.store.get_escalation(escalation_id)
        assert escalation is not None and escalation.message is not None
        clock.advance(minutes=1)
        await JOBS["reminders"].run(bot.services)
        clock.advance(hours=4)  # a Normal escalation's SLA: the next reminder, to the lead
        await JOBS["reminders"].run(bot.services)
        await bot.click_escalation(ActionId.CLAIM, escalation, MANAGER)
        await bot.settle()

        ref = escalation.message
        assert len(slack.thread(ref.channel, ref.ts)) == 2
        updates = [c for c in slack.calls("chat.update") if c.args.get("ts") == ref.ts]
        assert len(updates) == 1
        shown = slack.message(ref.channel, ref.ts)
        assert shown is not None and shown["text"].endswith("— claimed")
        assert f"<@{MANAGER}>" in json.dumps(shown["blocks"])  # who claimed it
    finally:
        await bot.stop()
