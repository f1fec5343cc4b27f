"""A sent card offers Send Correction: its modal starts with what was sent, and what is
submitted reaches the same conversation once, through the Chatwoot outbox, attributed like a
reply; the card shows it under the sent text, and the log keeps both texts. Only the operator
who sent the reply, or a manager, may correct it. Real clicks and view submissions (the
modal's own private_metadata, as Slack hands it back)."""

from __future__ import annotations

import json
from typing import Any

from bot.blocks.ids import ActionId, CallbackId, InputId
from bot.domain import DeliveryStatus, DraftState
from bot.jobs import JOBS
from tests.chatwoot_sync.test_e2e_done_in_chatwoot import card_text, customer_wrote
from tests.harness import MANAGER, OPERATOR, SECOND_OPERATOR, BotUnderTest, ask_occ, text_value

CORRECTION = "Sorry, a correction: your order ships tomorrow, not today. Tracking follows."
REFUSED = "who sent this reply, or a manager"


def opened_view(slack) -> dict[str, Any]:
    view = slack.last("views.open").args["view"]
    return json.loads(view) if isinstance(view, str) else view


def initial_text(view: dict[str, Any]) -> str:
    [box] = [b for b in view["blocks"] if b.get("block_id") == InputId.CORRECTION_TEXT]
    return box["element"]["initial_value"]


async def sent_card(bot: BotUnderTest, chatwoot, scenarios, sender: str = OPERATOR):
    """A draft approved by ``sender``, its reply in Chatwoot."""
    draft = await customer_wrote(bot, chatwoot, scenarios)
    await bot.click(ActionId.APPROVE, draft, sender)
    await bot.settle()
    sent = await bot.store.get_draft(draft.id)
    assert sent.reply.status is DeliveryStatus.SENT
    return sent


async def open_correction(bot: BotUnderTest, slack, draft, user: str) -> dict[str, Any]:
    opened = len(slack.calls("views.open"))
    await bot.click(ActionId.CORRECT, draft, user)
    await bot.settle()
    assert len(slack.calls("views.open")) == opened + 1, "no modal opened"
    return opened_view(slack)


async def submit(bot: BotUnderTest, view: dict[str, Any], user: str, text: str) -> None:
    values = text_value(InputId.CORRECTION_TEXT, text)
    response = await bot.submit(CallbackId.CORRECTION, view["private_metadata"], user, values)
    assert response.status_code == 200 and response.text == "", response.text


def replies(chatwoot, draft) -> list[str]:
    return [m["content"] for m in chatwoot.sent_replies(draft.input.conversation_id)]


async def corrected_rows(bot: BotUnderTest, draft) -> list:
    return [
        e for e in await bot.store.entries(subject_id=draft.id) if e.action == "reply.corrected"
    ]


async def test_a_sent_card_offers_a_correction_whose_modal_starts_with_what_was_sent(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    draft = await sent_card(bot, chatwoot, scenarios)

    [button] = [
        e
        for b in slack.message(draft.card.channel, draft.card.ts)["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ActionId.CORRECT
    ]
    assert "Correction" in button["text"]["text"]

    view = await open_correction(bot, slack, draft, OPERATOR)
    assert view["callback_id"] == CallbackId.CORRECTION
    assert initial_text(view) == draft.decision.final_text


async def test_a_correction_submitted_twice_is_sent_once_attributed_and_shown_under_the_text(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    draft = await sent_card(bot, chatwoot, scenarios)
    reply = draft.decision.final_text
    view = await open_correction(bot, slack, draft, OPERATOR)

    await submit(bot, view, OPERATOR, CORRECTION)
    await submit(bot, view, OPERATOR, CORRECTION)  # Slack delivers the submission again
    await bot.settle()

    assert replies(chatwoot, draft) == [reply, CORRECTION]
    notes = [n["content"] for n in chatwoot.private_notes(draft.input.conversation_id)]
    assert any(
        n.startswith("Correction sent from Slack by Olivia Operator (olivia@example.com)")
        for n in notes
    )
    assert chatwoot.assignee(draft.input.conversation_id) == 7  # Olivia's Chatwoot agent
    card = card_text(slack, draft)
    assert card.index("Text sent") < card.index("Correction 1") < card.index(CORRECTION)
    assert "Correction 1* by <@U0OPERATOR1>, sent" in card
    [row] = await corrected_rows(bot, draft)
    assert (row.actor, row.payload["text_before"], row.payload["text_after"]) == (
        OPERATOR,
        reply,
        CORRECTION,
    )
    [sent] = [
        e for e in await bot.store.entries(subject_id=draft.id) if e.action == "correction.sent"
    ]
    assert sent.outcome == "success" and sent.payload["text"] == CORRECTION
    # The reply's own decision is as it was: a correction is no second approval.
    stored = await bot.store.get_draft(draft.id)
    assert (stored.state, stored.decision) == (DraftState.APPROVED, draft.decision)


async def test_a_correction_chatwoot_stored_before_failing_is_not_sent_twice(
    bot: BotUnderTest, slack, chatwoot, clock, scenarios
):
    draft = await sent_card(bot, chatwoot, scenarios)
    view = await open_correction(bot, slack, draft, OPERATOR)
    chatwoot.fail_after_commit(1)  # Chatwoot stores the correction, then answers 500

    await submit(bot, view, OPERATOR, CORRECTION)
    await bot.settle()
    assert "Chatwoot failed" in card_text(slack, draft)

    clock.advance(minutes=5)
    await JOBS["outbox"].run(bot.services)
    await bot.settle()

    assert replies(chatwoot, draft) == [draft.decision.final_text, CORRECTION]
    assert "Correction 1* by <@U0OPERATOR1>, sent" in card_text(slack, draft)
    attempts = [
        (e.outcome, e.payload.get("reconciled"))
        for e in await bot.store.entries(subject_id=draft.id)
        if e.action == "correction.sent"
    ]
    assert attempts == [("retry", None), ("success", True)]


async def test_another_operator_is_refused_and_nothing_changes(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    draft = await sent_card(bot, chatwoot, scenarios)
    view = await open_correction(bot, slack, draft, OPERATOR)  # the sender's modal
    opened = len(slack.calls("views.open"))

    await bot.click(ActionId.CORRECT, draft, SECOND_OPERATOR)
    await submit(bot, view, SECOND_OPERATOR, CORRECTION)  # a modal that is not theirs
    await bot.settle()

    assert len(slack.calls("views.open")) == opened
    assert replies(chatwoot, draft) == [draft.decision.final_text]
    told = [m["text"] for m in slack.ephemerals(SECOND_OPERATOR)]
    assert len(told) == 2 and all(REFUSED in t for t in told)
    assert await corrected_rows(bot, draft) == []
    refused = [
        e for e in await bot.store.entries(subject_id=draft.id) if e.action == "draft.refused"
    ]
    assert [(e.actor, e.payload["attempted"], e.outcome) for e in refused] == [
        (SECOND_OPERATOR, "correct", "refused")
    ] * 2
    assert "Correction 1" not in card_text(slack, draft)


async def test_a_manager_may_correct_an_operators_reply(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    draft = await sent_card(bot, chatwoot, scenarios)

    view = await open_correction(bot, slack, draft, MANAGER)
    await submit(bot, view, MANAGER, CORRECTION)
    await bot.settle()

    assert replies(chatwoot, draft) == [draft.decision.final_text, CORRECTION]
    [row] = await corrected_rows(bot, draft)
    assert row.actor == MANAGER and row.payload["reply_sent_by"] == OPERATOR
    assert "Correction 1* by <@U0MANAGER1>" in card_text(slack, draft)


async def test_two_people_correcting_at_once_send_one_correction(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    draft = await sent_card(bot, chatwoot, scenarios)
    operators = await open_correction(bot, slack, draft, OPERATOR)
    managers = await open_correction(bot, slack, draft, MANAGER)  # both: correction 1

    await submit(bot, operators, OPERATOR, CORRECTION)
    await bot.settle()
    await submit(bot, managers, MANAGER, "Please ignore our last message.")
    await bot.settle()

    assert replies(chatwoot, draft) == [draft.decision.final_text, CORRECTION]
    [told] = slack.ephemerals(MANAGER)
    assert "sent correction 1 of this reply meanwhile" in told["text"]

    # Opened again, the modal starts from the correction, and sends the second one.
    again = await open_correction(bot, slack, draft, MANAGER)
    assert initial_text(again) == CORRECTION
    await submit(bot, again, MANAGER, "Please ignore our last message.")
    await bot.settle()
    assert replies(chatwoot, draft)[-1] == "Please ignore our last message."
    second = (await corrected_rows(bot, draft))[-1]
    assert second.payload["text_before"] == CORRECTION
    assert "Correction 2" in card_text(slack, draft)


async def test_the_corrections_own_webhook_retires_nothing(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    draft = await sent_card(bot, chatwoot, scenarios)
    view = await open_correction(bot, slack, draft, OPERATOR)
    await submit(bot, view, OPERATOR, CORRECTION)
    await bot.settle()
    waiting = await bot.posted_draft(
        scenarios["demo-1-order-status"].payload | {"external_id": "a-second-question"}
    )

    correction = chatwoot.sent_replies(draft.input.conversation_id)[-1]
    await bot.chatwoot_event(chatwoot.message_created_event(correction))
    await bot.settle()

    assert (await bot.store.get_draft(waiting.id)).state is DraftState.PENDING


async def test_corrections_count_in_no_ones_numbers(bot: BotUnderTest, slack, chatwoot, scenarios):
    draft = await sent_card(bot, chatwoot, scenarios)
    before = (await ask_occ(bot, slack, "stats"))["text"]

    view = await open_correction(bot, slack, draft, OPERATOR)
    await submit(bot, view, OPERATOR, CORRECTION)
    await bot.settle()

    assert (await ask_occ(bot, slack, "stats"))["text"] == before
