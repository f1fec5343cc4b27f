"""A card reaches Slack once: a poster whose lease ran out deletes its extra copy, and a
channel Slack refuses for good is retried a few times, then alerted once and left waiting
until posting there works again."""

from __future__ import annotations

import asyncio

from bot.jobs import JOBS
from bot.jobs.runner import run_once
from tests.harness import BotUnderTest


async def test_a_poster_that_outlived_its_lease_deletes_its_copy(
    bot: BotUnderTest, slack, clock, scenarios
) -> None:
    slow_slack = slack.hold("chat.postMessage")
    response = await bot.post_draft(scenarios["demo-1-order-status"].payload)
    draft_id = response.json()["id"]
    await asyncio.sleep(0.2)  # the first post is on its way, held by Slack
    clock.advance(minutes=6)  # its lease runs out: the reposts job takes over
    reposting = asyncio.create_task(run_once(bot.services, JOBS["reposts"]))
    await asyncio.sleep(0.2)

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
