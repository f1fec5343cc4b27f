"""Reliability alerts with several replicas: one alert and one recovery per outage, whichever
replicas see the failure and whichever sees the recovery."""

from __future__ import annotations

import pytest

from bot.blocks.ids import ActionId
from bot.jobs import JOBS
from tests.harness import OPERATOR, BotUnderTest, settings_for


async def start(postgres_url, slack, chatwoot, clock) -> BotUnderTest:
    return await BotUnderTest(settings_for(postgres_url, slack, chatwoot), clock).start()


@pytest.fixture
async def replicas(postgres_url, slack, chatwoot, clock):
    started = [await start(postgres_url, slack, chatwoot, clock) for _ in range(2)]
    try:
        yield started
    finally:
        for bot in started:
            await bot.stop()


async def test_an_outage_seen_by_every_replica_alerts_once_and_recovers_once(
    replicas, postgres_url, slack, chatwoot, clock, scenarios
):
    first, second = replicas
    payload = scenarios["demo-1-order-status"].payload
    drafts = [
        await first.posted_draft(payload | {"external_id": "a", "conversation_id": 201}),
        await second.posted_draft(payload | {"external_id": "b", "conversation_id": 202}),
    ]
    chatwoot.down(503)

    for bot, draft in zip(replicas, drafts, strict=True):
        await bot.click(ActionId.APPROVE, draft, OPERATOR)
        await bot.settle()

    [alert] = slack.messages_in("#occ-reliability")
    assert "chatwoot" in alert["text"] and "failing" in alert["text"]
    for bot in replicas:  # both replicas report it, though only one wrote it
        health = (await bot._http.get(f"{bot.url}/healthz")).json()
        assert list(health["degraded"]) == ["chatwoot"]

    # A replica that never saw the failure sends the retries and notices the recovery.
    third = await start(postgres_url, slack, chatwoot, clock)
    try:
        assert list((await third._http.get(f"{third.url}/healthz")).json()["degraded"]) == [
            "chatwoot"
        ]
        chatwoot.up()
        clock.advance(seconds=31)
        await JOBS["outbox"].run(third.services)
        await third.settle()
        # Replicas that still remember the outage succeed too, and say nothing more.
        for conversation, bot in enumerate(replicas, start=203):
            more = payload | {"external_id": f"more-{conversation}"}
            draft = await bot.posted_draft(more | {"conversation_id": conversation})
            await bot.click(ActionId.APPROVE, draft, OPERATOR)
            await bot.settle()
        health = (await third._http.get(f"{third.url}/healthz")).json()
    finally:
        await third.stop()

    assert [len(chatwoot.sent_replies(c)) for c in (201, 202, 203, 204)] == [1, 1, 1, 1]
    texts = [message["text"] for message in slack.messages_in("#occ-reliability")]
    assert len(texts) == 2 and "recovered" in texts[1]
    assert health["degraded"] == {}
    log = await first.store.entries(subject_id="chatwoot")
    assert [str(entry.action) for entry in log] == ["reliability.alert", "reliability.recovered"]
