"""Resolving an escalation through the Resolve modal: what managers, operators, the customer
and Chatwoot agents each get, against the running app and the Slack and Chatwoot stand-ins."""

from __future__ import annotations

import json

import pytest

from bot.blocks.ids import ActionId, InputId
from bot.domain import DeliveryStatus, Escalation, EscalationState
from bot.jobs import JOBS
from tests.harness import MANAGER, OPERATOR, BotUnderTest

CUSTOMER_REPLY = "Hi Michael, we've refunded both duplicate charges ($59.98). Sorry!"


async def claimed(bot: BotUnderTest, scenarios) -> Escalation:
    draft = await bot.posted_draft(scenarios["demo-3-triple-charge"].payload)
    await bot.submit_escalation(draft.id, OPERATOR, type="high_value", urgency="urgent", notes="n")
    await bot.settle()
    escalation = await bot.store.escalation_for_draft(draft.id)
    assert escalation is not None and escalation.message is not None
    await bot.click_escalation(ActionId.CLAIM, escalation, MANAGER)
    await bot.settle()
    return escalation


def dms_to(slack, user: str) -> list[str]:
    dm = slack.channel_id(user)
    return [
        c.args["text"] for c in slack.calls("chat.postMessage") if c.args["channel"] in (user, dm)
    ]


async def test_resolve_opens_a_modal_asking_what_was_done_the_outcome_a_reply_and_notes(
    bot: BotUnderTest, slack, scenarios
):
    escalation = await claimed(bot, scenarios)

    await bot.click_escalation(ActionId.RESOLVE, escalation, MANAGER)
    await bot.settle()

    view = slack.last("views.open").args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert set(inputs) == {
        InputId.RESOLUTION_SUMMARY,
        InputId.RESOLUTION_OUTCOME,
        InputId.RESOLUTION_AMOUNT,
        InputId.RESOLUTION_REPLY,
        InputId.RESOLUTION_NOTES,
    }
    outcomes = [o["text"]["text"] for o in inputs[InputId.RESOLUTION_OUTCOME]["element"]["options"]]
    assert outcomes == [
        "Refund",
        "Store credit",
        "Replacement sent",
        "Policy exception granted",
        "No action needed",
    ]
    assert inputs[InputId.RESOLUTION_REPLY].get("optional") is True
    assert (await bot.store.get_escalation(escalation.id)).state is EscalationState.CLAIMED
    # Slack shows markup in plain_text as typed: a mention there reads "<@U0OPERATOR1>"
    assert not [text for text in plain_texts(view) if "<@" in text or "<#" in text]


def plain_texts(node: object) -> list[str]:
    if isinstance(node, list):
        return [text for item in node for text in plain_texts(item)]
    if not isinstance(node, dict):
        return []
    own = [node["text"]] if node.get("type") == "plain_text" else []
    return own + [text for value in node.values() for text in plain_texts(value)]


async def test_a_resolution_with_a_reply_reaches_the_customer_once_and_the_operator_learns_it(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    escalation = await claimed(bot, scenarios)
    conversation = escalation.conversation_id

    response = await bot.submit_resolution(
        escalation.id,
        MANAGER,
        outcome="refund",
        amount="59.98",
        summary="Refunded the two duplicate charges in Shopify.",
        reply=CUSTOMER_REPLY,
        notes="Triple charges are always a refund of the extras; check Shopify first.",
    )
    await bot.settle()

    assert response.status_code == 200 and response.text == ""
    assert [m["content"] for m in chatwoot.sent_replies(conversation)] == [CUSTOMER_REPLY]
    assert chatwoot.assignee(conversation) == 9  # Morgan's Chatwoot agent: sent as from her
    notes = [n["content"] for n in chatwoot.private_notes(conversation)]
    assert any("Sent from Slack by Morgan Patel" in n for n in notes)
    [resolution_note] = [n for n in notes if n.startswith("Resolved in Slack")]
    assert (
        "Refund of $59.98" in resolution_note and "duplicate charges in Shopify" in resolution_note
    )
    message = slack.message(escalation.message.channel, escalation.message.ts)
    shown = json.dumps(message["blocks"])
    assert "Resolved" in shown and "Refund of $59.98" in shown
    assert not [b for b in message["blocks"] if b["type"] == "actions"]  # no buttons left
    [dm] = [text for text in dms_to(slack, OPERATOR) if "was resolved" in text]
    assert "Refund of $59.98" in dm and "check Shopify first" in dm and f"<@{MANAGER}>" in dm
    final = await bot.store.get_escalation(escalation.id)
    assert final.resolution is not None and final.resolution.amount_usd == 59.98
    [resolved] = [
        e
        for e in await bot.store.entries(subject_id=escalation.id)
        if e.action == "escalation.resolved"
    ]
    assert resolved.actor == MANAGER
    assert resolved.payload["customer_reply"] == CUSTOMER_REPLY
    assert resolved.payload["outcome"] == "refund"
    sent = {m.kind.value: m.delivery.status for m in await bot.store.outbox_for(escalation.id)}
    assert sent == {"reply": DeliveryStatus.SENT, "note": DeliveryStatus.SENT}


async def test_a_resolution_without_a_reply_sends_the_customer_nothing(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    escalation = await claimed(bot, scenarios)

    await bot.submit_resolution(
        escalation.id, MANAGER, outcome="no_action", summary="Already handled by phone."
    )
    await bot.settle()

    assert chatwoot.sent_replies(escalation.conversation_id) == []
    notes = [n["content"] for n in chatwoot.private_notes(escalation.conversation_id)]
    assert any("No action needed" in n and "by phone" in n for n in notes)
    [dm] = [text for text in dms_to(slack, OPERATOR) if "was resolved" in text]
    assert "No action needed" in dm and "Notes for you" not in dm


@pytest.mark.parametrize(
    ("outcome", "amount", "field", "says"),
    [
        ("refund", None, InputId.RESOLUTION_AMOUNT, "How much"),
        ("credit", "lots", InputId.RESOLUTION_AMOUNT, "in dollars"),
        ("refund", "-5", InputId.RESOLUTION_AMOUNT, "in dollars"),
        ("refund", "NaN", InputId.RESOLUTION_AMOUNT, "in dollars"),
        ("", "10", InputId.RESOLUTION_OUTCOME, "Pick the outcome"),
    ],
)
async def test_a_resolution_missing_what_it_needs_is_sent_back_to_the_modal(
    bot: BotUnderTest, slack, chatwoot, scenarios, outcome, amount, field, says
):
    escalation = await claimed(bot, scenarios)

    response = await bot.submit_resolution(
        escalation.id, MANAGER, outcome=outcome, amount=amount, summary="Done."
    )
    await bot.settle()

    answer = response.json()
    assert answer["response_action"] == "errors" and says in answer["errors"][field]
    assert (await bot.store.get_escalation(escalation.id)).state is EscalationState.CLAIMED
    assert "escalation.resolved" not in await bot.actions(escalation.id)


async def test_resolving_twice_is_refused_with_who_resolved_it(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    escalation = await claimed(bot, scenarios)
    await bot.submit_resolution(escalation.id, MANAGER, outcome="replacement", summary="Sent.")
    await bot.settle()

    await bot.click_escalation(ActionId.RESOLVE, escalation, MANAGER)
    await bot.submit_resolution(
        escalation.id, MANAGER, outcome="refund", amount="5", summary="Again.", reply="Again"
    )
    await bot.settle()

    assert len(slack.calls("views.open")) == 0  # the second Resolve opens no form
    told = [e["text"] for e in slack.ephemerals(MANAGER)] + dms_to(slack, MANAGER)
    assert sum("Already resolved by" in text for text in told) == 2
    assert chatwoot.sent_replies(escalation.conversation_id) == []
    final = await bot.store.get_escalation(escalation.id)
    assert final.resolution is not None and final.resolution.outcome.value == "replacement"


async def test_a_manager_reply_chatwoot_refused_is_sent_once_when_it_is_back(
    bot: BotUnderTest, slack, chatwoot, scenarios, clock
):
    escalation = await claimed(bot, scenarios)
    chatwoot.down(503)

    await bot.submit_resolution(
        escalation.id, MANAGER, outcome="credit", amount="20", summary="Credit.", reply="Credit!"
    )
    await bot.settle()
    assert chatwoot.sent_replies(escalation.conversation_id) == []
    assert (await bot.store.get_escalation(escalation.id)).state is EscalationState.RESOLVED

    chatwoot.up()
    clock.advance(minutes=1)
    await JOBS["outbox"].run(bot.services)
    await JOBS["outbox"].run(bot.services)
    await bot.settle()

    assert [m["content"] for m in chatwoot.sent_replies(escalation.conversation_id)] == ["Credit!"]
    attempts = [
        (e.action, e.outcome.value)
        for e in await bot.store.entries(subject_id=escalation.id)
        if e.action == "escalation.replied"
    ]
    assert attempts == [("escalation.replied", "retry"), ("escalation.replied", "success")]
