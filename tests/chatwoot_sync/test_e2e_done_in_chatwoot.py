"""Work done in Chatwoot itself retires the Slack card: an agent's reply typed there, or the
conversation resolved there. Real webhook bodies (the Chatwoot stand-in builds them as
Chatwoot's Message#webhook_data and Conversation#webhook_data do), real clicks."""

from __future__ import annotations

import json

from bot.blocks.ids import ActionId
from bot.domain import DraftState, RetiredBecause
from tests.harness import OPERATOR, SECOND_OPERATOR, BotUnderTest

OLIVIA = 7  # a Chatwoot agent (tests/conftest.py AGENTS); the bot's token is agent 1's


def card_text(slack, draft) -> str:
    return json.dumps(slack.message(draft.card.channel, draft.card.ts)["blocks"])


async def customer_wrote(bot: BotUnderTest, chatwoot, scenarios):
    """The scenario's customer message in Chatwoot, and its draft's card in Slack."""
    payload = scenarios["demo-1-order-status"].payload
    chatwoot.add_incoming(payload["conversation_id"], payload["customer_message"])
    return await bot.posted_draft(payload)


async def test_a_reply_typed_in_chatwoot_retires_the_card_and_its_approve_sends_nothing(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    draft = await customer_wrote(bot, chatwoot, scenarios)
    conversation = draft.input.conversation_id

    answered = chatwoot.agent_replies(conversation, "Hi! It shipped this morning.", OLIVIA)
    response = await bot.chatwoot_event(answered)
    assert response.status_code == 200
    await bot.settle()

    done = await bot.store.get_draft(draft.id)
    assert done.state is DraftState.RETIRED
    assert done.retired.because is RetiredBecause.ANSWERED
    assert done.retired.by == "Olivia Operator"
    card = card_text(slack, done)
    assert "Answered in Chatwoot* by Olivia Operator" in card
    assert ActionId.APPROVE.value not in card and ActionId.EDIT.value not in card
    [row] = [e for e in await bot.store.entries(subject_id=draft.id) if e.action == "draft.retired"]
    assert row.payload["agent"] == {"id": OLIVIA, "name": "Olivia Operator"}

    await bot.click(ActionId.APPROVE, draft, OPERATOR)  # the card as it was before the redraw
    await bot.settle()
    assert [m["content"] for m in chatwoot.sent_replies(conversation)] == [
        "Hi! It shipped this morning."
    ]  # Olivia's alone: nothing from Slack
    [told] = slack.ephemerals(OPERATOR)
    assert "Olivia Operator answered this customer in Chatwoot" in told["text"]
    assert "draft.approved" not in await bot.actions(draft.id)


async def test_a_conversation_resolved_in_chatwoot_retires_its_card(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    draft = await customer_wrote(bot, chatwoot, scenarios)

    await bot.chatwoot_event(chatwoot.resolved_event(draft.input.conversation_id))
    await bot.settle()

    done = await bot.store.get_draft(draft.id)
    assert done.retired is not None and done.retired.because is RetiredBecause.RESOLVED
    assert "Resolved in Chatwoot*" in card_text(slack, done)


async def test_the_bots_own_reply_retires_nothing(bot: BotUnderTest, slack, chatwoot, scenarios):
    first = await customer_wrote(bot, chatwoot, scenarios)
    await bot.click(ActionId.APPROVE, first, OPERATOR)
    await bot.settle()
    conversation = first.input.conversation_id
    [sent] = chatwoot.sent_replies(conversation)
    waiting = await bot.posted_draft(
        scenarios["demo-1-order-status"].payload | {"external_id": "second-question"}
    )

    # Chatwoot tells the bot of its own reply, sent with its agent's token: it looks like an
    # agent's, but it is the one the bot recorded (and, before that, the text it queued).
    own = chatwoot.message_created_event(sent)
    assert own["sender"]["type"] == "user"
    await bot.chatwoot_event(own)
    await bot.settle()

    assert (await bot.store.get_draft(waiting.id)).state is DraftState.PENDING
    assert "draft.retired" not in await bot.actions(waiting.id)
    # The second operator can still decide it.
    await bot.click(ActionId.APPROVE, waiting, SECOND_OPERATOR)
    await bot.settle()
    assert (await bot.store.get_draft(waiting.id)).state is DraftState.APPROVED


async def test_the_bots_own_reply_is_known_before_the_bot_has_recorded_it(
    bot: BotUnderTest, chatwoot, scenarios
):
    first = await customer_wrote(bot, chatwoot, scenarios)
    chatwoot.fail_after_commit(1)  # Chatwoot stores the reply, then answers 500
    await bot.click(ActionId.APPROVE, first, OPERATOR)
    await bot.settle()
    conversation = first.input.conversation_id
    [stored] = chatwoot.sent_replies(conversation)
    assert (await bot.store.get_draft(first.id)).reply.message_id is None  # not recorded
    waiting = await bot.posted_draft(
        scenarios["demo-1-order-status"].payload | {"external_id": "second-question"}
    )

    await bot.chatwoot_event(chatwoot.message_created_event(stored))
    await bot.settle()

    assert (await bot.store.get_draft(waiting.id)).state is DraftState.PENDING


async def test_work_in_another_chatwoot_account_retires_nothing(
    bot: BotUnderTest, chatwoot, scenarios
):
    draft = await customer_wrote(bot, chatwoot, scenarios)
    answered = chatwoot.agent_replies(draft.input.conversation_id, "Done!", OLIVIA)
    answered["account"] = {"id": 2, "name": "Another store"}  # same display id, other account

    response = await bot.chatwoot_event(answered)
    await bot.settle()

    assert response.json() == {"ignored": "account 2 is not CHATWOOT_ACCOUNT_ID"}
    assert (await bot.store.get_draft(draft.id)).state is DraftState.PENDING
