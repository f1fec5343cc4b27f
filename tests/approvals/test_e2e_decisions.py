"""Edit, Reject and Escalate through their modals, as an operator would click them."""

from __future__ import annotations

import copy
import json

from bot.blocks.ids import ActionId, InputId
from bot.domain import DeliveryStatus, DraftState, Escalation, EscalationState
from tests.harness import MANAGER, OPERATOR, SECOND_OPERATOR, BotUnderTest, settings_for


def opened_view(slack) -> dict:
    view = slack.last("views.open").args["view"]
    return json.loads(view) if isinstance(view, str) else view


def input_element(view: dict, input_id: str) -> dict:
    for block in view["blocks"]:
        if block.get("block_id") == input_id:
            return block["element"]
    raise AssertionError(f"no input {input_id} in the modal")


async def test_edit_opens_the_draft_and_sends_the_edited_text(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    payload = scenarios["demo-2-wrong-item"].payload
    draft = await bot.posted_draft(payload)

    await bot.click(ActionId.EDIT, draft, OPERATOR)
    await bot.settle()
    view = opened_view(slack)
    assert input_element(view, InputId.EDIT_TEXT)["initial_value"] == payload["draft"]

    edited = "Hi Alex, I'm so sorry we sent the wrong colour! A blue one ships today, overnight."
    response = await bot.submit_edit(draft.id, OPERATOR, edited)
    assert response.status_code == 200
    await bot.settle()

    assert [r["content"] for r in chatwoot.sent_replies(payload["conversation_id"])] == [edited]
    [row] = [e for e in await bot.store.entries(subject_id=draft.id) if e.action == "draft.edited"]
    assert row.actor == OPERATOR
    assert row.payload["text_before"] == payload["draft"]
    assert row.payload["text_after"] == edited
    assert row.payload["waited_seconds"] >= 0
    card = slack.message(draft.card.channel, draft.card.ts)
    assert "wrong colour" in json.dumps(card["blocks"])


async def test_an_empty_edit_is_refused_in_the_modal_and_nothing_is_sent(
    bot: BotUnderTest, chatwoot, scenarios
):
    payload = scenarios["demo-2-wrong-item"].payload
    draft = await bot.posted_draft(payload)

    response = await bot.submit_edit(draft.id, OPERATOR, "   ")
    await bot.settle()

    assert response.json()["response_action"] == "errors"
    assert InputId.EDIT_TEXT in response.json()["errors"]
    assert chatwoot.sent_replies(payload["conversation_id"]) == []
    assert (await bot.store.get_draft(draft.id)).state is DraftState.PENDING


async def test_reject_records_the_reason_and_sends_nothing(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    payload = scenarios["exercise-3-wrong-return-window"].payload
    draft = await bot.posted_draft(payload)

    await bot.click(ActionId.REJECT, draft, OPERATOR)
    await bot.settle()
    assert opened_view(slack)["callback_id"] == "draft_reject_modal"
    await bot.submit_reject(draft.id, OPERATOR, "factual_error", "Policy is 30 days, not 14.")
    await bot.settle()

    assert chatwoot.sent_replies(payload["conversation_id"]) == []
    stored = await bot.store.get_draft(draft.id)
    assert stored.state is DraftState.REJECTED
    assert stored.reply.status is DeliveryStatus.NONE
    [row] = [
        e for e in await bot.store.entries(subject_id=draft.id) if e.action == "draft.rejected"
    ]
    assert row.payload["reason"] == "factual_error"
    assert row.payload["notes"] == "Policy is 30 days, not 14."
    card = json.dumps(slack.message(draft.card.channel, draft.card.ts)["blocks"])
    assert "Rejected" in card and f"<@{OPERATOR}>" in card


async def test_escalate_posts_to_managers_with_notes_and_notes_the_conversation(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    payload = scenarios["demo-3-triple-charge"].payload
    draft = await bot.posted_draft(payload)

    await bot.click(ActionId.ESCALATE, draft, OPERATOR)
    await bot.settle()
    view = opened_view(slack)
    urgency_texts = json.dumps(input_element(view, InputId.ESCALATION_URGENCY))
    for word in ("Urgent", "High", "Normal"):
        assert word in urgency_texts
    notes = input_element(view, InputId.ESCALATION_NOTES)["initial_value"]
    for heading in ("CUSTOMER", "CONVERSATION", "ORDER", "ISSUE SUMMARY", "REASON"):
        assert heading in notes

    await bot.submit_escalation(
        draft.id, OPERATOR, type="high_value", urgency="urgent", notes=notes
    )
    await bot.settle()

    assert chatwoot.sent_replies(payload["conversation_id"]) == []
    [note] = chatwoot.private_notes(payload["conversation_id"])
    assert "URGENT" in note["content"]
    [message] = slack.messages_in("#occ-escalations")
    text = json.dumps(message["blocks"])
    assert "Claim" in text and "Michael Richards" in text
    escalation = await bot.store.escalation_for_draft(draft.id)
    assert escalation.state is EscalationState.OPEN
    assert (escalation.due_at - escalation.created_at).total_seconds() == 15 * 60
    assert (await bot.store.get_draft(draft.id)).state is DraftState.ESCALATED
    actions = await bot.actions(draft.id)
    assert "draft.escalated" in actions


async def escalated(bot: BotUnderTest, scenarios) -> Escalation:
    """The triple-charge draft escalated by the operator, its message in #occ-escalations."""
    draft = await bot.posted_draft(scenarios["demo-3-triple-charge"].payload)
    await bot.submit_escalation(draft.id, OPERATOR, type="high_value", urgency="urgent", notes="n")
    await bot.settle()
    escalation = await bot.store.escalation_for_draft(draft.id)
    assert escalation is not None and escalation.message is not None
    return escalation


async def test_claim_then_resolve_the_escalation(bot: BotUnderTest, slack, scenarios):
    escalation = await escalated(bot, scenarios)

    await bot.click_escalation(ActionId.CLAIM, escalation, MANAGER)
    await bot.settle()
    posted = slack.message(escalation.message.channel, escalation.message.ts)
    assert "Resolve" in json.dumps(posted["blocks"])
    claimed = await bot.store.get_escalation(escalation.id)
    assert claimed.state is EscalationState.CLAIMED and claimed.claimed_by == MANAGER

    await bot.click_escalation(ActionId.RESOLVE, escalation, MANAGER)
    await bot.settle()
    assert opened_view(slack)["private_metadata"] == escalation.id
    await bot.submit_resolution(
        escalation.id, MANAGER, outcome="refund", amount="59.98", summary="Refunded twice."
    )
    await bot.settle()
    final = await bot.store.get_escalation(escalation.id)
    assert final.state is EscalationState.RESOLVED and final.resolved_by == MANAGER
    [dm] = [c for c in slack.calls("chat.postMessage") if "was resolved" in c.args.get("text", "")]
    assert f"<@{MANAGER}>" in dm.args["text"]
    assert await bot.actions(escalation.id) == [
        "escalation.posted",
        "escalation.noted",
        "escalation.claimed",
        "escalation.resolved",
        "escalation.resolution_noted",
    ]


async def test_a_non_manager_is_refused_on_claim_and_on_resolve(
    bot: BotUnderTest, slack, scenarios
):
    escalation = await escalated(bot, scenarios)
    where = (escalation.message.channel, escalation.message.ts)
    message_before = copy.deepcopy(slack.message(*where))

    await bot.click_escalation(ActionId.CLAIM, escalation, SECOND_OPERATOR)
    await bot.settle()

    assert await bot.store.get_escalation(escalation.id) == escalation  # nothing changed
    assert slack.message(*where) == message_before
    [notice] = slack.ephemerals(SECOND_OPERATOR)
    assert notice["text"] == "Only managers (OCC_MANAGERS) can claim escalations."
    assert notice["channel"] == escalation.message.channel

    await bot.click_escalation(ActionId.CLAIM, escalation, MANAGER)
    await bot.settle()
    claimed = await bot.store.get_escalation(escalation.id)
    assert claimed.state is EscalationState.CLAIMED
    message_claimed = copy.deepcopy(slack.message(*where))

    await bot.click_escalation(ActionId.RESOLVE, escalation, SECOND_OPERATOR)
    await bot.settle()

    assert await bot.store.get_escalation(escalation.id) == claimed  # still claimed, unresolved
    assert slack.message(*where) == message_claimed
    assert [n["text"] for n in slack.ephemerals(SECOND_OPERATOR)] == [
        "Only managers (OCC_MANAGERS) can claim escalations.",
        "Only managers (OCC_MANAGERS) can resolve escalations.",
    ]
    assert not [c for c in slack.calls("chat.postMessage") if "was resolved" in str(c.args)]
    refused = [
        e for e in await bot.store.entries(subject_id=escalation.id) if e.outcome == "refused"
    ]
    assert [(str(e.action), e.actor, e.payload["attempted"]) for e in refused] == [
        ("escalation.refused", SECOND_OPERATOR, "claim"),
        ("escalation.refused", SECOND_OPERATOR, "resolve"),
    ]


async def test_with_no_managers_configured_nobody_can_claim_or_resolve(
    sqlite_url, slack, chatwoot, clock, scenarios
):
    """An empty OCC_MANAGERS used to open Claim and Resolve to everyone in the workspace."""
    bot = await BotUnderTest(
        settings_for(sqlite_url, slack, chatwoot, OCC_MANAGERS=""), clock
    ).start()
    try:
        escalation = await escalated(bot, scenarios)
        await bot.click_escalation(ActionId.CLAIM, escalation, OPERATOR)
        await bot.settle()
        await bot.submit_resolution(
            escalation.id,
            OPERATOR,
            outcome="refund",
            summary="Refunded",
            amount="25",
            reply="Refund sent!",
        )
        await bot.settle()

        assert await bot.store.get_escalation(escalation.id) == escalation  # unchanged
        told = [n["text"] for n in slack.ephemerals(OPERATOR)]
        told += [m["text"] for m in slack.messages_in(OPERATOR)]  # the form's answer: a DM
        assert "Nobody can claim escalations yet: OCC_MANAGERS is empty" in told[0]
        assert any("Nobody can resolve escalations yet" in text for text in told)
        assert chatwoot.sent_replies(escalation.conversation_id) == []
        refused = [
            e for e in await bot.store.entries(subject_id=escalation.id) if e.outcome == "refused"
        ]
        assert [e.payload["attempted"] for e in refused] == ["claim", "resolve"]
    finally:
        await bot.stop()
