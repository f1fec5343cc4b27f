"""When no article fits or the message is out of scope, the AI abstains: the card says so and
why, shows no invented text, and offers Write reply and Escalate."""

from __future__ import annotations

import json

from bot.blocks.ids import ActionId, InputId
from tests.harness import OPERATOR, BotUnderTest
from tests.test_e2e_approve import button_texts
from tests.test_e2e_decisions import input_element, opened_view

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
