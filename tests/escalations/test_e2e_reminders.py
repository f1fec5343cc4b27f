"""SLA reminders and the escalation chain, against the running app and the Slack stand-in.

The clock is injected: an escalation falls due by moving it, and the `reminders` job is run
the way the scheduler runs it on each tick.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.blocks.ids import ActionId
from bot.demo.standins.slack import SlackStandin
from bot.domain import Escalation, Reminder
from bot.jobs import JOBS
from tests.conftest import PEOPLE
from tests.harness import (
    MANAGER,
    OPERATOR,
    BotUnderTest,
    FakeClock,
    eventually,
    settings_for,
)

LEAD = "U0LEAD0001"
HALF_HOUR, FIVE_MINUTES = timedelta(minutes=30), timedelta(minutes=5)
SECOND_MANAGER = "U0MANAGER2"


async def escalate(bot: BotUnderTest, scenarios, urgency: str = "urgent") -> Escalation:
    draft = await bot.posted_draft(scenarios["demo-3-triple-charge"].payload)
    response = await bot.submit_escalation(
        draft.id, OPERATOR, type="high_value", urgency=urgency, notes="Triple charge, $89.97."
    )
    assert response.status_code == 200
    await bot.settle()
    escalation = await bot.store.escalation_for_draft(draft.id)
    assert escalation is not None and escalation.message is not None
    return escalation


async def tick(bot: BotUnderTest) -> str:
    said = await JOBS["reminders"].run(bot.services)
    await bot.settle()
    return said


def thread(slack, escalation: Escalation) -> list[dict]:
    assert escalation.message is not None
    return slack.thread(escalation.message.channel, escalation.message.ts)


def shown(slack, escalation: Escalation) -> str:
    assert escalation.message is not None
    message = slack.message(escalation.message.channel, escalation.message.ts)
    return message["text"] + json.dumps(message["blocks"])


@pytest.fixture
async def slack(clock) -> AsyncIterator[SlackStandin]:
    """The Slack stand-in on the injected clock, so message timestamps and the bot's own times
    agree as they do in production (a channel's history is searched from a time on)."""
    async with SlackStandin(users=PEOPLE, clock=lambda: clock().timestamp()) as standin:
        standin.add_channel("occ-leadership")
        yield standin


@pytest.fixture
async def chain_bot(sqlite_url, slack, chatwoot, clock) -> AsyncIterator[BotUnderTest]:
    """Managers, then the lead, then #occ-leadership; one reminder per level."""
    settings = settings_for(
        sqlite_url,
        slack,
        chatwoot,
        OCC_MANAGERS=f"{MANAGER},{SECOND_MANAGER}",
        OCC_ESCALATION_CHAIN=f"managers,{LEAD},#occ-leadership",
        OCC_REMINDERS_PER_LEVEL=1,
    )
    instance = await BotUnderTest(settings, clock).start()
    try:
        yield instance
    finally:
        await instance.stop()


async def test_an_urgent_escalation_mentions_the_managers_at_once(
    bot: BotUnderTest, slack, scenarios
):
    escalation = await escalate(bot, scenarios, "urgent")

    message = slack.message(escalation.message.channel, escalation.message.ts)
    assert f"<@{MANAGER}>" in message["text"]  # the notification text, which Slack notifies on
    assert f"<@{MANAGER}>" in json.dumps(message["blocks"])


async def test_a_high_escalation_mentions_no_one_until_it_is_due(
    bot: BotUnderTest, slack, scenarios, clock
):
    escalation = await escalate(bot, scenarios, "high")

    assert f"<@{MANAGER}>" not in shown(slack, escalation)
    clock.advance(minutes=59)
    await tick(bot)
    assert thread(slack, escalation) == []

    clock.advance(minutes=2)
    await tick(bot)
    [reminder] = thread(slack, escalation)
    assert f"<@{MANAGER}>" in reminder["text"]
    assert "1 min past" in reminder["text"]


async def test_a_reminder_at_the_deadline_then_one_every_sla_period_each_logged_once(
    bot: BotUnderTest, slack, scenarios, clock
):
    escalation = await escalate(bot, scenarios, "urgent")

    clock.advance(minutes=14, seconds=59)
    await tick(bot)
    assert thread(slack, escalation) == []

    clock.advance(seconds=1)
    await tick(bot)
    await tick(bot)  # the same due time again: nothing more
    [first] = thread(slack, escalation)
    assert f"<@{MANAGER}>" in first["text"] and "Reminder 1" in first["text"]
    assert "Overdue" in shown(slack, escalation) and "Reminded 1 time" in shown(slack, escalation)

    clock.advance(minutes=15)
    await tick(bot)
    second = thread(slack, escalation)[1]
    assert "Reminder 2" in second["text"] and "15 min past" in second["text"]
    reminded = [
        e
        for e in await bot.store.entries(subject_id=escalation.id)
        if e.action == "escalation.reminded"
    ]
    assert [(e.payload["reminder"], e.payload["overdue_seconds"]) for e in reminded] == [
        (1, 0),
        (2, 900),
    ]
    assert {(e.payload["channel"], e.outcome.value) for e in reminded} == {
        (escalation.message.channel, "success")
    }


async def test_no_reminder_after_a_claim_and_the_claim_says_how_late_it_was(
    bot: BotUnderTest, slack, scenarios, clock
):
    escalation = await escalate(bot, scenarios, "urgent")
    clock.advance(minutes=15)
    await tick(bot)
    clock.advance(minutes=7)

    await bot.click_escalation(ActionId.CLAIM, escalation, MANAGER)
    await bot.settle()
    clock.advance(hours=3)
    await tick(bot)

    assert len(thread(slack, escalation)) == 1
    assert f"<@{MANAGER}>" in shown(slack, escalation)
    assert "7 min past SLA" in shown(slack, escalation)
    assert "escalation.reminded" in await bot.actions(escalation.id)


async def test_a_claim_within_the_sla_says_so(bot: BotUnderTest, slack, scenarios, clock):
    escalation = await escalate(bot, scenarios, "normal")
    clock.advance(minutes=30)

    await bot.click_escalation(ActionId.CLAIM, escalation, MANAGER)
    await bot.settle()

    assert "within SLA" in shown(slack, escalation)


async def test_the_chain_steps_up_to_the_lead_then_to_the_leadership_channel(
    chain_bot: BotUnderTest, slack, scenarios, clock
):
    bot = chain_bot
    escalation = await escalate(bot, scenarios, "urgent")

    for _ in range(4):
        clock.advance(minutes=15)
        await tick(bot)

    in_thread = thread(slack, escalation)
    assert len(in_thread) == 2
    assert (
        f"<@{MANAGER}>" in in_thread[0]["text"] and f"<@{SECOND_MANAGER}>" in in_thread[0]["text"]
    )
    assert f"<@{LEAD}>" in in_thread[1]["text"] and f"<@{MANAGER}>" not in in_thread[1]["text"]
    assert "level 2 of 3" in in_thread[1]["text"]
    leadership = slack.messages_in("#occ-leadership")
    assert len(leadership) == 2  # the top level keeps being reminded: nothing expires
    assert "level 3 of 3" in leadership[0]["text"] and "Reminder 3" in leadership[0]["text"]
    assert "Reminder 4" in leadership[1]["text"] and "level 3" not in leadership[1]["text"]
    assert "/archives/" in leadership[0]["text"]  # a link to the escalation to claim it
    assert "#occ-leadership (level 3 of 3)" in shown(slack, escalation)
    steps = [
        (e.payload["from"], e.payload["to"])
        for e in await bot.store.entries(subject_id=escalation.id)
        if e.action == "escalation.stepped_up"
    ]
    assert steps == [("managers", LEAD), (LEAD, "#occ-leadership")]


async def test_a_reminder_slack_refused_is_posted_on_the_next_tick_once(
    bot: BotUnderTest, slack, scenarios, clock
):
    escalation = await escalate(bot, scenarios, "urgent")
    clock.advance(minutes=15)
    slack.fail_next("chat.postMessage", "fatal_error")  # Slack's own failure: not retried

    await tick(bot)
    assert thread(slack, escalation) == []
    [retry] = [
        e
        for e in await bot.store.entries(subject_id=escalation.id)
        if e.action == "escalation.reminded"
    ]
    assert retry.outcome.value == "retry"

    clock.advance(minutes=6)  # the post lease (5 min) has run out; the next due time not yet
    await tick(bot)
    await tick(bot)
    [reminder] = thread(slack, escalation)
    assert "Reminder 1" in reminder["text"]
    alerts = [m["text"] for m in slack.messages_in("#occ-reliability")]
    assert len(alerts) == 2 and "fatal_error" in alerts[0]  # the outage, then the recovery


async def test_three_replicas_ticking_together_post_each_reminder_once(
    postgres_url, slack, chatwoot, clock, scenarios
):
    replicas = [
        await BotUnderTest(settings_for(postgres_url, slack, chatwoot), clock).start()
        for _ in range(3)
    ]
    try:
        escalation = await escalate(replicas[0], scenarios)
        for _ in range(3):
            clock.advance(minutes=15)
            await asyncio.gather(*(JOBS["reminders"].run(r.services) for r in replicas))
            for replica in replicas:
                await replica.settle()
        numbers = [m["text"].split("Reminder ")[1].split(":")[0] for m in thread(slack, escalation)]
        assert numbers == ["1", "2", "3"]
    finally:
        for replica in replicas:
            await replica.stop()


async def test_a_reminder_posted_by_a_replica_that_died_before_recording_it_is_not_posted_again(
    bot: BotUnderTest, slack, scenarios, clock
):
    escalation = await escalate(bot, scenarios, "urgent")
    clock.advance(minutes=15)
    store = bot.store
    # What a replica killed mid-post leaves: the reminder taken, its post leased, the message
    # in Slack (with its metadata), and nothing recorded.
    reminder = Reminder(
        id="rem_died",
        escalation_id=escalation.id,
        number=1,
        level=0,
        notify="managers",
        due_at=escalation.due_at,
        created_at=clock(),
    )
    await store.take_reminder(reminder, expected_count=0, next_reminder_at=clock() + HALF_HOUR)
    await store.claim_reminder_post(reminder.id, now=clock(), lease_until=clock() + FIVE_MINUTES)
    posted = await bot.services.slack.chat_postMessage(
        channel=escalation.message.channel,
        thread_ts=escalation.message.ts,
        text="⏰ Reminder 1 (posted by the replica that died)",
        metadata={"event_type": "occ_reminder", "event_payload": {"id": reminder.id}},
    )

    clock.advance(minutes=6)  # its post lease has run out
    await tick(bot)

    [only] = thread(slack, escalation)
    assert only["ts"] == posted["ts"]
    recorded = await store.get_reminder(reminder.id)
    assert recorded.message.ts == posted["ts"]
    [reminded] = [
        e
        for e in await store.entries(subject_id=escalation.id)
        if e.action == "escalation.reminded"
    ]
    assert reminded.payload["reconciled"] is True and reminded.payload["ts"] == posted["ts"]
    [search] = slack.calls("conversations.replies")
    assert search.args["include_all_metadata"] in (True, "true", "1")


async def test_a_reminders_redraw_that_slack_applies_after_a_claims_never_hides_the_claim(
    bot: BotUnderTest, slack, scenarios, clock
):
    escalation = await escalate(bot, scenarios, "urgent")
    clock.advance(minutes=15)
    updates = slack.hold("chat.update")
    reminding = asyncio.create_task(tick(bot))
    await eventually(lambda: updates.held == 1)  # the reminder's redraw: drawn while open

    await bot.click_escalation(ActionId.CLAIM, escalation, MANAGER)
    await eventually(lambda: updates.held == 2)  # the claim's redraw
    updates.set_newest_first()  # Slack applies the claim's update, then the reminder's
    await reminding
    await bot.settle()

    message = slack.message(escalation.message.channel, escalation.message.ts)
    buttons = [
        e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert buttons == [ActionId.RESOLVE]  # the claimed state, so the manager can resolve
    assert "Claimed" in shown(slack, escalation)


async def test_a_late_worker_keeps_the_copy_a_later_attempt_found_and_recorded(
    bot: BotUnderTest, slack, scenarios, clock
):
    escalation = await escalate(bot, scenarios, "urgent")
    clock.advance(minutes=15)
    answers = slack.hold("chat.postMessage", after_effect=True)
    first = asyncio.create_task(tick(bot))  # posts, then waits for Slack's answer
    await eventually(lambda: answers.held == 1)

    clock.advance(minutes=6)  # past the first worker's post lease
    await JOBS["reminders"].run(bot.services)  # a second worker: finds the copy, records it
    answers.set()
    await first  # the first worker's record fails: its lease is gone
    await bot.settle()

    [reminder] = thread(slack, escalation)
    [stored] = await bot.store.reminders_of(escalation.id)
    assert stored.message.ts == reminder["ts"]
    assert slack.calls("chat.delete") == []


async def test_a_reminder_taken_just_before_a_claim_is_not_posted_after_it(
    chain_bot: BotUnderTest, slack, scenarios, clock
):
    bot = chain_bot
    escalation = await escalate(bot, scenarios, "urgent")
    for _ in range(2):
        clock.advance(minutes=15)
        await tick(bot)
    clock.advance(minutes=15)  # the third reminder goes to #occ-leadership, with a link
    links = slack.hold("chat.getPermalink")
    reminding = asyncio.create_task(tick(bot))
    await eventually(lambda: links.held == 1)  # taken, not yet posted

    await bot.click_escalation(ActionId.CLAIM, escalation, MANAGER)
    await bot.settle()
    links.set()
    await reminding

    assert slack.messages_in("#occ-leadership") == []
    [third] = [r for r in await bot.store.reminders_of(escalation.id) if r.number == 3]
    assert third.message is None
    assert await bot.store.unposted_reminders(clock() + timedelta(hours=1)) == []  # dropped


async def test_a_reminder_a_dead_replica_posted_in_a_chain_channel_named_by_hash_is_found(
    chain_bot: BotUnderTest, slack, scenarios, clock
):
    bot = chain_bot
    await escalate(bot, scenarios, "urgent")
    for _ in range(2):
        clock.advance(minutes=15)
        await tick(bot)
    clock.advance(minutes=15)  # the third reminder goes to #occ-leadership
    answers = slack.hold("chat.postMessage", after_effect=True)
    dying = asyncio.create_task(tick(bot))  # posts, then waits for Slack's answer: "dies"
    await eventually(lambda: answers.held == 1)

    clock.advance(minutes=6)
    # another worker: looks in #occ-leadership first (were it to post, its post would be held)
    await asyncio.wait_for(JOBS["reminders"].run(bot.services), timeout=10)
    answers.set()
    await dying
    await bot.settle()

    [posted] = slack.messages_in("#occ-leadership")
    assert "Reminder 3" in posted["text"]
    assert slack.calls("conversations.list") and slack.calls("conversations.history")


async def test_replicas_whose_clocks_differ_post_each_due_time_once(
    sqlite_url, slack, chatwoot, clock, scenarios
):
    ahead = FakeClock(clock() + timedelta(minutes=3))  # this replica's clock runs 3 min fast
    first = await BotUnderTest(settings_for(sqlite_url, slack, chatwoot), clock).start()
    second = await BotUnderTest(settings_for(sqlite_url, slack, chatwoot), ahead).start()
    try:
        escalation = await escalate(first, scenarios, "urgent")
        for minutes in (13, 2, 12, 3, 15):  # 13, 15, 27, 30 and 45 min on the slow clock
            clock.advance(minutes=minutes)
            ahead.advance(minutes=minutes)
            for replica in (first, second, first):
                await tick(replica)
        numbers = [m["text"].split("Reminder ")[1].split(":")[0] for m in thread(slack, escalation)]
        assert numbers == ["1", "2", "3"]
    finally:
        await first.stop()
        await second.stop()
