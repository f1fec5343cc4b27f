"""Chatwoot down, slow or failing mid-send: shown on the card, alerted, retried, never doubled."""

from __future__ import annotations

import json

from bot.blocks.ids import ActionId
from bot.domain import DecisionKind, DeliveryStatus
from bot.flows import outbox
from bot.integrations.chatwoot import ChatwootClient
from bot.jobs import JOBS
from tests.harness import OPERATOR, BotUnderTest, settings_for


def card_of(slack, draft) -> str:
    return json.dumps(slack.message(draft.card.channel, draft.card.ts)["blocks"])


async def run_replies_job(bot: BotUnderTest) -> None:
    await JOBS["outbox"].run(bot.services)
    await bot.settle()


async def test_outage_shows_on_the_card_alerts_and_recovers_with_one_reply(
    bot: BotUnderTest, slack, chatwoot, clock, scenarios
):
    payload = scenarios["demo-1-order-status"].payload
    draft = await bot.posted_draft(payload)
    chatwoot.down(503)

    await bot.click(ActionId.APPROVE, draft, OPERATOR)
    await bot.settle()

    stored = await bot.store.get_draft(draft.id)
    assert stored.reply.status is DeliveryStatus.FAILED
    card = card_of(slack, draft)
    assert "Retry" in card and ActionId.RETRY.value in card
    [alert] = slack.messages_in("#occ-reliability")
    assert "chatwoot" in alert["text"].lower()
    failed = [e for e in await bot.store.entries(subject_id=draft.id) if e.action == "reply.failed"]
    assert [e.outcome for e in failed] == ["retry"]

    await run_replies_job(bot)  # not due yet: nothing happens
    assert (await bot.store.get_draft(draft.id)).reply.attempts == 1

    chatwoot.up()
    clock.advance(seconds=31)
    await run_replies_job(bot)

    assert [r["content"] for r in chatwoot.sent_replies(payload["conversation_id"])] == [
        payload["draft"]
    ]
    stored = await bot.store.get_draft(draft.id)
    assert stored.reply.status is DeliveryStatus.SENT and stored.reply.attempts == 2
    assert "Retry" not in card_of(slack, draft)
    assert "recovered" in slack.messages_in("#occ-reliability")[-1]["text"]
    await run_replies_job(bot)
    assert len(chatwoot.sent_replies(payload["conversation_id"])) == 1


async def test_retry_button_sends_before_the_backoff_is_over(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    payload = scenarios["exercise-1-international-shipping"].payload
    draft = await bot.posted_draft(payload)
    chatwoot.down(500)
    await bot.click(ActionId.APPROVE, draft, OPERATOR)
    await bot.settle()
    chatwoot.up()

    await bot.click(ActionId.RETRY, draft, OPERATOR)
    await bot.click(ActionId.RETRY, draft, OPERATOR)
    await bot.settle()

    assert len(chatwoot.sent_replies(payload["conversation_id"])) == 1
    assert (await bot.store.get_draft(draft.id)).reply.status is DeliveryStatus.SENT


async def test_a_reply_that_landed_before_the_error_is_not_sent_again(
    bot: BotUnderTest, chatwoot, clock, scenarios
):
    payload = scenarios["demo-1-order-status"].payload
    draft = await bot.posted_draft(payload)
    chatwoot.fail_after_commit()  # Chatwoot stores the message, then answers 500

    await bot.click(ActionId.APPROVE, draft, OPERATOR)
    await bot.settle()
    assert (await bot.store.get_draft(draft.id)).reply.status is DeliveryStatus.FAILED

    clock.advance(minutes=1)
    await run_replies_job(bot)

    assert len(chatwoot.sent_replies(payload["conversation_id"])) == 1
    stored = await bot.store.get_draft(draft.id)
    assert stored.reply.status is DeliveryStatus.SENT
    [sent] = [e for e in await bot.store.entries(subject_id=draft.id) if e.action == "reply.sent"]
    assert sent.payload.get("reconciled") is True


async def test_a_timeout_is_retried_without_a_second_copy(
    sqlite_url, slack, chatwoot, clock, scenarios
):
    bot = await BotUnderTest(settings_for(sqlite_url, slack, chatwoot), clock).start()
    await bot.services.chatwoot.aclose()
    bot.services.chatwoot = ChatwootClient(chatwoot.url, chatwoot.token, 1, timeout=0.3)
    try:
        payload = scenarios["exercise-2-add-warmth"].payload
        draft = await bot.posted_draft(payload)
        chatwoot.hang(2.0)
        await bot.click(ActionId.APPROVE, draft, OPERATOR)
        await bot.settle()
        failed = [
            e for e in await bot.store.entries(subject_id=draft.id) if e.action == "reply.failed"
        ]
        assert [e.outcome for e in failed] == ["timeout"]
        chatwoot.up()
        clock.advance(minutes=1)
        await run_replies_job(bot)
        assert len(chatwoot.sent_replies(payload["conversation_id"])) == 1
    finally:
        await bot.stop()


async def test_a_decision_stored_before_a_crash_is_sent_once_after_restart(
    sqlite_url, slack, chatwoot, clock, scenarios
):
    payload = scenarios["demo-1-order-status"].payload
    first = await BotUnderTest(settings_for(sqlite_url, slack, chatwoot), clock).start()
    draft = await first.posted_draft(payload)
    from bot.flows import decisions

    # The decision is stored, then the process dies before it calls Chatwoot.
    await decisions.decide(first.services, draft.id, OPERATOR, DecisionKind.APPROVE)
    await first.stop()
    assert chatwoot.sent_replies(payload["conversation_id"]) == []

    second = await BotUnderTest(settings_for(sqlite_url, slack, chatwoot), clock).start()
    try:
        await run_replies_job(second)  # the dead process's lease still holds
        assert chatwoot.sent_replies(payload["conversation_id"]) == []
        clock.advance(minutes=6)
        await run_replies_job(second)
        await run_replies_job(second)
        assert len(chatwoot.sent_replies(payload["conversation_id"])) == 1
        assert (await second.store.get_draft(draft.id)).reply.status is DeliveryStatus.SENT
    finally:
        await second.stop()


async def test_without_chatwoot_replies_are_recorded_not_sent_and_the_card_says_so(
    sqlite_url, slack, clock, scenarios
):
    bot = await BotUnderTest(settings_for(sqlite_url, slack, None), clock).start()
    try:
        draft = await bot.posted_draft(scenarios["demo-1-order-status"].payload)
        assert "not configured" in card_of(slack, draft).lower()
        await bot.click(ActionId.APPROVE, draft, OPERATOR)
        await bot.settle()
        assert (await bot.store.get_draft(draft.id)).reply.status is DeliveryStatus.RECORDED
        assert "recorded" in card_of(slack, draft).lower()
        assert "reply.recorded" in await bot.actions(draft.id)
    finally:
        await bot.stop()


async def test_a_card_slack_refused_is_posted_by_the_reposts_job(
    bot: BotUnderTest, slack, clock, scenarios
):
    slack.fail_next("chat.postMessage", "channel_not_found")
    response = await bot.post_draft(scenarios["demo-1-order-status"].payload)
    await bot.settle()
    draft_id = response.json()["id"]
    assert (await bot.store.get_draft(draft_id)).card is None
    assert "draft.posted" in await bot.actions(draft_id)  # logged with outcome retry
    assert slack.messages_in("#occ-approvals") == []

    await JOBS["reposts"].run(bot.services)  # the first attempt's lease still holds
    assert slack.messages_in("#occ-approvals") == []
    clock.advance(minutes=6)
    await JOBS["reposts"].run(bot.services)
    await JOBS["reposts"].run(bot.services)

    assert len(slack.messages_in("#occ-approvals")) == 1
    assert (await bot.store.get_draft(draft_id)).card is not None
    outcomes = [e.outcome for e in await bot.store.entries(subject_id=draft_id)]
    assert outcomes.count("retry") == 1


async def test_an_escalation_slack_refused_is_posted_by_the_reposts_job(
    bot: BotUnderTest, slack, clock, scenarios
):
    draft = await bot.posted_draft(scenarios["demo-3-triple-charge"].payload)
    slack.fail_next("chat.postMessage", "channel_not_found")
    await bot.submit_escalation(draft.id, OPERATOR, type="high_value", urgency="urgent", notes="n")
    await bot.settle()
    assert slack.messages_in("#occ-escalations") == []

    clock.advance(minutes=6)
    await JOBS["reposts"].run(bot.services)

    [message] = slack.messages_in("#occ-escalations")
    assert "Claim" in json.dumps(message["blocks"])
    assert (await bot.store.escalation_for_draft(draft.id)).message is not None


async def test_a_send_is_not_started_when_the_lease_is_nearly_over(
    bot: BotUnderTest, chatwoot, clock, scenarios
):
    from bot.flows import decisions
    from bot.store.outbox import reply_id

    payload = scenarios["demo-1-order-status"].payload
    draft = await bot.posted_draft(payload)
    decided = await decisions.decide(bot.services, draft.id, OPERATOR, DecisionKind.APPROVE)
    clock.advance(minutes=4, seconds=45)  # another worker may take the lease in 15 s

    leased = await bot.store.get_outbox_message(reply_id(decided.draft.id))
    done = await outbox.send_leased(bot.services, leased)

    assert chatwoot.sent_replies(payload["conversation_id"]) == []
    assert done.delivery.status is DeliveryStatus.FAILED and "lease" in done.delivery.last_error


async def replies_due(bot: BotUnderTest) -> tuple[int, int]:
    """One pass of the `outbox` job's work: (messages tried, attempts that raised)."""
    tally = await outbox.deliver_due(bot.services)
    await bot.settle()
    return tally.tried, tally.failed


def reply_failures(entries) -> list[tuple[int, str]]:
    return [(e.payload["attempt"], e.outcome) for e in entries if e.action == "reply.failed"]


async def test_after_the_eighth_failed_attempt_the_reply_waits_for_retry(
    bot: BotUnderTest, slack, chatwoot, clock, scenarios
):
    payload = scenarios["demo-1-order-status"].payload
    draft = await bot.posted_draft(payload)
    chatwoot.down(503)
    await bot.click(ActionId.APPROVE, draft, OPERATOR)
    await bot.settle()

    for attempt in range(2, 9):
        clock.advance(minutes=16)  # past any backoff (30 s doubling, capped at 15 min)
        assert await replies_due(bot) == (1, 0)
        assert (await bot.store.get_draft(draft.id)).reply.attempts == attempt

    stored = await bot.store.get_draft(draft.id)
    assert stored.reply.status is DeliveryStatus.GAVE_UP and stored.reply.next_attempt_at is None
    assert reply_failures(await bot.store.entries(subject_id=draft.id)) == [
        (1, "retry"),
        (2, "retry"),
        (3, "retry"),
        (4, "retry"),
        (5, "retry"),
        (6, "retry"),
        (7, "retry"),
        (8, "failed"),
    ]
    card = slack.message(draft.card.channel, draft.card.ts)
    [actions] = [b for b in card["blocks"] if b["type"] == "actions"]
    [retry] = actions["elements"]
    assert (retry["action_id"], retry["text"]["text"]) == (ActionId.RETRY.value, "🔁 Retry")
    assert "after 8 attempts" in card_of(slack, draft) and "Press Retry" in card_of(slack, draft)

    clock.advance(hours=6)  # the job leaves it alone now: it waits for someone to press Retry
    assert await replies_due(bot) == (0, 0)
    assert (await bot.store.get_draft(draft.id)).reply.attempts == 8
    assert chatwoot.sent_replies(payload["conversation_id"]) == []

    chatwoot.up()
    await bot.click(ActionId.RETRY, draft, OPERATOR)
    await bot.settle()
    assert [r["content"] for r in chatwoot.sent_replies(payload["conversation_id"])] == [
        payload["draft"]
    ]


async def test_a_permanent_4xx_gives_up_after_one_attempt(
    bot: BotUnderTest, slack, chatwoot, clock, scenarios
):
    payload = scenarios["exercise-1-international-shipping"].payload
    draft = await bot.posted_draft(payload)
    chatwoot.down(422)  # Chatwoot refuses the request itself: repeating it cannot help

    await bot.click(ActionId.APPROVE, draft, OPERATOR)
    await bot.settle()

    stored = await bot.store.get_draft(draft.id)
    assert stored.reply.status is DeliveryStatus.GAVE_UP and stored.reply.attempts == 1
    assert "422" in stored.reply.last_error
    entries = await bot.store.entries(subject_id=draft.id)
    assert reply_failures(entries) == [(1, "failed")]
    [failed] = [e for e in entries if e.action == "reply.failed"]
    assert failed.payload["transient"] is False and failed.payload["next_attempt_at"] is None
    refused = [r for r in chatwoot.requests() if r.status == 422]
    assert len(refused) == 1  # one request, refused, and no other
    assert ActionId.RETRY.value in card_of(slack, draft)

    clock.advance(hours=1)
    assert await replies_due(bot) == (0, 0)
    assert len([r for r in chatwoot.requests() if r.status == 422]) == 1  # not tried again
