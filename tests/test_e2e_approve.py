"""Approve: the customer gets the draft exactly once, and the card and the log say so."""

from __future__ import annotations

from bot.blocks.ids import ActionId
from bot.domain import DraftState, ReplyStatus
from tests.harness import OPERATOR, BotUnderTest


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
    assert stored.reply.status is ReplyStatus.SENT
    card = slack.message(draft.card.channel, draft.card.ts)
    assert button_texts(card) == []
    card_text = str(card["blocks"])
    assert f"<@{OPERATOR}>" in card_text and "<!date^" in card_text
    assert await bot.actions(draft.id) == [
        "draft.received",
        "draft.posted",
        "draft.approved",
        "reply.sent",
    ]
