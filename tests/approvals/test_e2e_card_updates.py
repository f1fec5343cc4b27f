"""What an approval's card goes through: one update showing the outcome when the reply goes
out at once; "sending" first only while Chatwoot is slow; a failed send shown on the card."""

from __future__ import annotations

from bot.blocks.ids import ActionId
from bot.demo.standins.server import wait_for
from bot.domain import Draft
from tests.harness import OPERATOR, BotUnderTest

SENDING = "approved; sending"
SENT = "sent to the customer"


def card_updates(slack, draft: Draft) -> list[str]:
    """The fallback text of each chat.update of the draft's card, in order."""
    return [
        call.args["text"]
        for call in slack.calls("chat.update")
        if (call.args["channel"], call.args["ts"]) == (draft.card.channel, draft.card.ts)
    ]


async def test_a_quick_approval_updates_its_card_once_showing_it_sent(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    payload = scenarios["demo-1-order-status"].payload
    draft = await bot.posted_draft(payload)

    await bot.click(ActionId.APPROVE, draft, OPERATOR)
    await bot.settle()

    [update] = card_updates(slack, draft)
    assert update.endswith(SENT)
    card = str(slack.message(draft.card.channel, draft.card.ts)["blocks"])
    assert "Sent to the customer" in card and f"<@{OPERATOR}>" in card
    assert len(chatwoot.sent_replies(payload["conversation_id"])) == 1
    assert await bot.actions(draft.id) == [
        "draft.received",
        "draft.posted",
        "draft.approved",
        "reply.sent",
    ]


async def test_a_quick_edit_updates_its_card_once_showing_the_edited_text_sent(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    payload = scenarios["demo-2-wrong-item"].payload
    draft = await bot.posted_draft(payload)
    new_text = "Hi Alex, sorry about the colour! The blue one ships today, on us."

    await bot.submit_edit(draft.id, OPERATOR, new_text)
    await bot.settle()

    [update] = card_updates(slack, draft)
    assert update.endswith(SENT)
    assert new_text in str(slack.message(draft.card.channel, draft.card.ts)["blocks"])
    assert [r["content"] for r in chatwoot.sent_replies(payload["conversation_id"])] == [new_text]


async def test_a_slow_reply_shows_sending_on_the_card_until_it_is_sent(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    payload = scenarios["demo-1-order-status"].payload
    draft = await bot.posted_draft(payload)
    chatwoot.hang(30)  # Chatwoot holds every request until let go

    await bot.click(ActionId.APPROVE, draft, OPERATOR)

    # while Chatwoot still holds the send, the card already says it is on its way
    await wait_for(lambda: card_updates(slack, draft), timeout=10)
    assert chatwoot.held > 0 and chatwoot.sent_replies(payload["conversation_id"]) == []
    assert [update.endswith(SENDING) for update in card_updates(slack, draft)] == [True]
    card = str(slack.message(draft.card.channel, draft.card.ts)["blocks"])
    assert "Sending…" in card and f"<@{OPERATOR}>" in card
    assert "Approve" not in card  # no second decision offered while it goes out

    chatwoot.up()
    await bot.settle()

    updates = card_updates(slack, draft)
    assert len(updates) == 2 and updates[0].endswith(SENDING) and updates[1].endswith(SENT)
    assert "Sent to the customer" in str(slack.message(draft.card.channel, draft.card.ts))
    assert len(chatwoot.sent_replies(payload["conversation_id"])) == 1


async def test_a_failed_send_shows_on_the_card_with_the_retry(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    payload = scenarios["demo-1-order-status"].payload
    draft = await bot.posted_draft(payload)
    chatwoot.down(503)

    await bot.click(ActionId.APPROVE, draft, OPERATOR)
    await bot.settle()

    assert card_updates(slack, draft)[-1].endswith("approved; sending failed, retrying")
    card = str(slack.message(draft.card.channel, draft.card.ts)["blocks"])
    assert "Chatwoot failed" in card and "Retry" in card
    assert await bot.actions(draft.id) == [
        "draft.received",
        "draft.posted",
        "draft.approved",
        "reply.failed",
    ]
