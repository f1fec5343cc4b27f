"""When no article fits or the message is out of scope, the AI abstains: the card says so and
why, shows no invented text, and offers Write reply and Escalate."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.blocks.ids import ActionId, InputId
from bot.demo.standins.shopify import DEFAULT_TOKEN, ShopifyStandin
from tests.approvals.test_e2e_approve import button_texts
from tests.approvals.test_e2e_decisions import input_element, opened_view
from tests.harness import OPERATOR, BotUnderTest, bot_with_model

OUT_OF_SCOPE = "Can you recommend a good plumber in Leeds?"


async def test_an_out_of_scope_message_gets_an_abstention_card_the_operator_answers(
    bot: BotUnderTest, slack, chatwoot
):
    message = chatwoot.add_incoming(61, OUT_OF_SCOPE, contact_name="Ana")
    await bot.chatwoot_event(chatwoot.message_created_event(message))
    await bot.settle()
    [draft] = await bot.store.drafts_awaiting_decision(61)
    card = slack.message(draft.card.channel, draft.card.ts)
    blocks = json.dumps(card["blocks"], ensure_ascii=False)

    assert "AI abstained" in blocks and "out of scope" in blocks
    assert "Draft reply" not in blocks and draft.input.draft == ""
    assert ["Write reply" in b or "Escalate" in b for b in button_texts(card)] == [True, True]
    assert draft.input.confidence == 0.0

    await bot.click(ActionId.APPROVE, draft, OPERATOR)  # a stale or crafted Approve
    await bot.settle()
    [refusal] = slack.ephemerals(OPERATOR)
    assert "no draft to send" in refusal["text"] and chatwoot.sent_replies(61) == []

    await bot.click(ActionId.EDIT, draft, OPERATOR)
    await bot.settle()
    view = opened_view(slack)
    assert view["title"]["text"] == "Write reply"
    assert "initial_value" not in input_element(view, InputId.EDIT_TEXT)
    written = "Hi Ana! We only help with orders from our store, so we can't recommend a plumber."
    await bot.submit_edit(draft.id, OPERATOR, written)
    await bot.settle()
    assert [r["content"] for r in chatwoot.sent_replies(61)] == [written]


async def test_an_abstention_stays_one_when_the_model_fails_and_the_offline_drafter_answers(
    sqlite_url, slack, chatwoot, clock
):
    # Bo has an order, so the model is asked (it could use the order's facts); it fails, and
    # the offline drafter, with no article that fits, abstains.
    async with ShopifyStandin() as shop:
        shop.add_order(datetime(2026, 11, 20, tzinfo=UTC), 40.0, email="bo@example.com")
        shopify = {"SHOPIFY_SHOP": shop.url, "SHOPIFY_ADMIN_TOKEN": DEFAULT_TOKEN}
        async with bot_with_model(sqlite_url, slack, chatwoot, clock, "{}", **shopify) as (
            bot,
            api,
        ):
            api.fail_next(500, times=2)  # the client's request and its one retry
            message = chatwoot.add_incoming(
                63,
                OUT_OF_SCOPE,
                contact_name="Bo",
                contact_email="bo@example.com",
                channel="Channel::Email",
            )
            await bot.chatwoot_event(chatwoot.message_created_event(message))
            await bot.settle()
            [abstained] = await bot.store.drafts_awaiting_decision(63)
            await bot.click(ActionId.APPROVE, abstained, OPERATOR)
            await bot.settle()
            asked = len(api.completions())
    assert asked == 2 and "fallback" in abstained.input.agent
    assert abstained.input.abstained and abstained.input.draft == ""
    card = slack.message(abstained.card.channel, abstained.card.ts)
    assert "AI abstained" in json.dumps(card["blocks"])
    assert not [b for b in button_texts(card) if "Approve" in b]
    assert chatwoot.sent_replies(63) == []  # the Approve was refused; nothing empty was sent
