"""Approve: the customer gets the draft exactly once, and the card and the log say so."""

from __future__ import annotations

import itertools
import json

from bot.blocks.ids import ActionId
from bot.domain import DeliveryStatus, DraftState
from tests.harness import OPERATOR, BotUnderTest, settings_for


def button_texts(message: dict) -> list[str]:
    return [
        element["text"]["text"]
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


async def test_a_draft_becomes_a_card_with_the_four_buttons(bot: BotUnderTest, slack, scenarios):
    draft = await bot.posted_draft(scenarios["demo-1-order-status"].payload)

    card = slack.message(draft.card.channel, draft.card.ts)
    texts = " ".join(button_texts(card))
    for word in ("Approve", "Edit", "Reject", "Escalate"):
        assert word in texts
    assert draft.card.channel == slack.channel_id("#occ-approvals")
    assert await bot.actions(draft.id) == ["draft.received", "draft.posted"]


async def test_approve_sends_the_draft_once_and_updates_the_card(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    payload = scenarios["demo-1-order-status"].payload
    draft = await bot.posted_draft(payload)

    response = await bot.click(ActionId.APPROVE, draft, OPERATOR)
    assert response.status_code == 200
    await bot.settle()

    replies = chatwoot.sent_replies(payload["conversation_id"])
    assert [r["content"] for r in replies] == [payload["draft"]]
    stored = await bot.store.get_draft(draft.id)
    assert stored.state is DraftState.APPROVED
    assert stored.reply.status is DeliveryStatus.SENT
    card = slack.message(draft.card.channel, draft.card.ts)
    assert button_texts(card) == ["✍️ Send Correction"]  # no decision button: only a follow-up
    card_text = str(card["blocks"])
    assert f"<@{OPERATOR}>" in card_text and "<!date^" in card_text
    assert await bot.actions(draft.id) == [
        "draft.received",
        "draft.posted",
        "draft.approved",
        "reply.sent",
    ]


async def test_every_id_comes_from_the_injected_factory(
    sqlite_url, slack, chatwoot, clock, scenarios
):
    numbers = itertools.count(1)
    settings = settings_for(sqlite_url, slack, chatwoot)
    bot = BotUnderTest(settings, clock, new_id=lambda prefix: f"{prefix}-{next(numbers)}")
    await bot.start()
    try:
        draft = await bot.posted_draft(scenarios["demo-1-order-status"].payload)
        await bot.click(ActionId.APPROVE, draft, OPERATOR)
        await bot.settle()

        assert draft.id == "d-1"
        entries = await bot.store.entries(subject_id="d-1")
        assert [(e.id, str(e.action)) for e in entries] == [
            ("log-2", "draft.received"),
            ("log-3", "draft.posted"),
            ("log-5", "draft.approved"),  # sp-4: the decision held in flight
            ("log-6", "reply.sent"),
        ]
        assert {e.created_at for e in entries} == {clock.now}
    finally:
        await bot.stop()


async def test_a_reply_the_channel_cannot_take_is_not_recorded_as_sent(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    """Chatwoot answers 200 to a reply in a conversation whose reply window has closed, then
    fails to deliver it (docs/real-services.md): the bot asks can_reply first."""
    payload = scenarios["demo-1-order-status"].payload
    chatwoot.close_reply_window(payload["conversation_id"])
    draft = await bot.posted_draft(payload)

    await bot.click(ActionId.APPROVE, draft, OPERATOR)
    await bot.settle()

    stored = await bot.store.get_draft(draft.id)
    assert stored.reply.status is DeliveryStatus.GAVE_UP and "24-hour" in stored.reply.last_error
    assert chatwoot.messages(payload["conversation_id"]) == []  # nothing was sent to fail
    card = json.dumps(slack.message(draft.card.channel, draft.card.ts)["blocks"])
    assert "Not sent" in card and "can_reply is false" in card
    actions = [e.action for e in await bot.store.entries(subject_id=draft.id)]
    assert "reply.sent" not in actions and "reply.failed" in actions
    assert slack.messages_in("#occ-reliability") == []  # Chatwoot works: not on-call's problem


async def test_a_reply_the_channel_fails_after_chatwoot_took_it_shows_on_the_card(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    """Chatwoot's message_updated webhook reports a send its channel refused later
    (content_attributes.external_error): the reply is not "sent" any more, and Retry sends
    it again rather than finding the failed copy."""
    payload = scenarios["demo-1-order-status"].payload
    conversation = payload["conversation_id"]
    draft = await bot.posted_draft(payload)
    await bot.click(ActionId.APPROVE, draft, OPERATOR)
    await bot.settle()
    [sent] = chatwoot.sent_replies(conversation)

    delivered = chatwoot.message_created_event(sent) | {"event": "message_updated"}
    assert (await bot.chatwoot_event(delivered)).json() == {
        "ignored": "not an incoming customer message"
    }
    failed = chatwoot.fail_delivery(sent["id"], "131047: Re-engagement message")
    answer = await bot.chatwoot_event(failed)
    await bot.settle()

    assert answer.status_code == 200 and answer.json() == {"undelivered": sent["id"]}
    stored = await bot.store.get_draft(draft.id)
    assert stored.reply.status is DeliveryStatus.GAVE_UP
    card = json.dumps(slack.message(draft.card.channel, draft.card.ts)["blocks"])
    assert "Not sent" in card and "131047: Re-engagement message" in card
    [row] = [e for e in await bot.store.entries(subject_id=draft.id) if e.action == "reply.failed"]
    assert row.payload["message_id"] == str(sent["id"]) and row.outcome == "failed"

    await bot.chatwoot_event(failed)  # Chatwoot redelivers: nothing changes twice
    await bot.click(ActionId.RETRY, draft, OPERATOR)
    await bot.settle()
    [again] = chatwoot.sent_replies(conversation)
    assert again["id"] != sent["id"]
    assert (await bot.store.get_draft(draft.id)).reply.status is DeliveryStatus.SENT
