"""A draft longer than Slack's text box (3,000 characters) still reaches an operator: the card
shows it cut and says so, Approve sends all of it, and Edit splits it over several boxes."""

from __future__ import annotations

import json

from bot.blocks.ids import ActionId, CallbackId
from tests.harness import OPERATOR, BotUnderTest, text_value

PARAGRAPH = ("We are sorry about the mix-up with your order. " * 20).strip()  # 939 characters


def long_reply(paragraphs: int = 8) -> str:
    return "\n".join(f"{n}. {PARAGRAPH}" for n in range(paragraphs))  # about 7,600 characters


async def test_a_long_draft_is_carded_cut_and_approved_whole(
    bot: BotUnderTest, slack, chatwoot, scenarios
) -> None:
    payload = scenarios["demo-1-order-status"].payload | {"draft": long_reply()}

    draft = await bot.posted_draft(payload)
    card = json.dumps(slack.message(draft.card.channel, draft.card.ts)["blocks"])
    await bot.click(ActionId.APPROVE, draft, OPERATOR)
    await bot.settle()

    assert f"the reply is {len(payload['draft']):,} characters" in card
    assert "the customer gets all of it" in card
    [sent] = chatwoot.sent_replies(payload["conversation_id"])
    assert sent["content"] == payload["draft"]


async def test_editing_a_long_draft_uses_one_box_per_part_and_sends_them_joined(
    bot: BotUnderTest, slack, chatwoot, scenarios
) -> None:
    payload = scenarios["demo-1-order-status"].payload | {"draft": long_reply()}
    draft = await bot.posted_draft(payload)

    await bot.click(ActionId.EDIT, draft, OPERATOR)
    await bot.settle()
    view = slack.last("views.open").args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    boxes = [b for b in view["blocks"] if b["type"] == "input"]
    parts = [box["element"]["initial_value"] for box in boxes]
    assert len(parts) == 3 and all(len(part) <= 3000 for part in parts)
    parts[-1] = parts[-1].replace("7. We are sorry", "7. We are truly sorry")
    values: dict = {}
    for box, part in zip(boxes, parts, strict=True):
        values |= text_value(box["block_id"], part)
    response = await bot.submit(CallbackId.EDIT, view["private_metadata"], OPERATOR, values)
    await bot.settle()

    assert response.status_code == 200
    [sent] = chatwoot.sent_replies(payload["conversation_id"])
    assert sent["content"] == payload["draft"].replace("7. We are sorry", "7. We are truly sorry")
    assert "draft.edited" in await bot.actions(draft.id)
