"""A card reaches Slack once: a poster whose lease ran out deletes its extra copy, and a
channel Slack refuses for good is retried a few times, then alerted once and left waiting
until posting there works again."""

from __future__ import annotations

import asyncio

from bot.jobs import JOBS
from bot.jobs.runner import run_once
from tests.harness import OPERATOR, BotUnderTest, eventually


async def test_a_poster_that_outlived_its_lease_deletes_its_copy(
    bot: BotUnderTest, slack, clock, scenarios
) -> None:
    slow_slack = slack.hold("chat.postMessage")
    response = await bot.post_draft(scenarios["demo-1-order-status"].payload)
    draft_id = response.json()["id"]
    await eventually(lambda: slow_slack.held == 1)  # the first post is on its way, held by Slack
    clock.advance(minutes=6)  # its lease runs out: the reposts job takes over
    reposting = asyncio.create_task(run_once(bot.services, JOBS["reposts"]))
    await eventually(lambda: slow_slack.held == 2)  # its post is at Slack too: both in flight

    slow_slack.set()
    await reposting
    await bot.settle()

    assert len(slack.calls("chat.postMessage")) == 2
    [card] = slack.messages_in("#occ-approvals")
    [deleted] = slack.calls("chat.delete")
    stored = await bot.store.get_draft(draft_id)
    assert stored.card is not None and stored.card.ts == card["ts"]
    assert deleted.args["ts"] != card["ts"]
    posted = [e for e in await bot.store.entries(subject_id=draft_id) if e.action == "draft.posted"]
    assert len(posted) == 1


async def test_a_channel_slack_refuses_is_retried_three_times_then_alerted_once(
    bot: BotUnderTest, slack, clock, scenarios
) -> None:
    slack.fail_next("chat.postMessage", "not_in_channel", times=3)
    response = await bot.post_draft(scenarios["demo-1-order-status"].payload)
    draft_id = response.json()["id"]
    await bot.settle()
    for _ in range(4):  # two more refusals, then it waits
        clock.advance(minutes=6)
        await JOBS["reposts"].run(bot.services)
        await bot.settle()

    assert len(slack.calls("chat.postMessage")) == 4  # 3 refused tries and the alert
    [alert] = slack.messages_in("#occ-reliability")
    assert "#occ-approvals" in alert["text"] and "not_in_channel" in alert["text"]
    assert "OCC_APPROVALS_CHANNEL" in alert["text"]
    outcomes = [
        e.outcome
        for e in await bot.store.entries(subject_id=draft_id)
        if e.action == "draft.posted"
    ]
    assert outcomes == ["retry", "retry", "retry", "failed"]
    health = (await bot._http.get(f"{bot.url}/healthz")).json()
    assert list(health["degraded"]) == ["slack-post:#occ-approvals"]

    # Someone invites the bot: the next card posts, and the one that waited follows.
    await bot.posted_draft(scenarios["exercise-1-international-shipping"].payload)
    clock.advance(seconds=1)
    await JOBS["reposts"].run(bot.services)
    await bot.settle()

    assert (await bot.store.get_draft(draft_id)).card is not None
    assert len(slack.messages_in("#occ-approvals")) == 2
    assert "works again" in slack.messages_in("#occ-reliability")[-1]["text"]
    assert len(slack.messages_in("#occ-reliability")) == 2


async def test_a_card_slack_posted_before_answering_500_is_not_posted_twice(
    bot: BotUnderTest, slack, clock, scenarios
) -> None:
    # Slack posts the card, then answers 500 (or the connection drops): the client must not
    # repeat the post, and the reposts job finds the card instead of posting it again.
    slack.fail_next("chat.postMessage", "internal_error", status=500, after_effect=True)
    response = await bot.post_draft(scenarios["demo-1-order-status"].payload)
    draft_id = response.json()["id"]
    await bot.settle()
    cards = [c for c in slack.calls("chat.postMessage") if c.args.get("blocks")]
    assert len(cards) == 1  # slack_sdk's retry of a 500 did not repeat the post

    clock.advance(minutes=6)  # the post lease runs out
    await JOBS["reposts"].run(bot.services)
    await bot.settle()

    [card] = [m for m in slack.messages_in("#occ-approvals") if m.get("blocks")]
    stored = await bot.store.get_draft(draft_id)
    assert stored.card is not None and stored.card.ts == card["ts"]
    posted = [e for e in await bot.store.entries(subject_id=draft_id) if e.action == "draft.posted"]
    assert [e.outcome for e in posted] == ["retry", "success"]
    assert posted[-1].payload["reconciled"] is True


async def test_an_escalation_slack_posted_before_the_connection_dropped_is_posted_once(
    bot: BotUnderTest, slack, clock, scenarios
) -> None:
    draft = await bot.posted_draft(scenarios["demo-2-wrong-item"].payload)
    slack.fail_next("chat.postMessage", "internal_error", status=503, after_effect=True)
    await bot.submit_escalation(draft.id, OPERATOR, type="high_value", urgency="urgent", notes="n")
    await bot.settle()
    clock.advance(minutes=6)
    await JOBS["reposts"].run(bot.services)
    await bot.settle()

    escalations = [m for m in slack.messages_in("#occ-escalations") if not m.get("thread_ts")]
    assert len(escalations) == 1
    [escalation] = await bot.store.open_escalations(limit=10)
    assert escalation.message is not None and escalation.message.ts == escalations[0]["ts"]
