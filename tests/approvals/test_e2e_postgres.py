"""The four actions end to end on PostgreSQL: what SQLite passes must pass on the real server."""

from __future__ import annotations

import json

from bot.blocks.ids import ActionId
from bot.domain import DeliveryStatus, DraftState, EscalationState
from tests.harness import MANAGER, OPERATOR, BotUnderTest


async def test_approve_edit_reject_and_escalate_with_claim_and_resolve(
    pg_bot: BotUnderTest, slack, chatwoot, scenarios
):
    bot = pg_bot
    to_approve = scenarios["demo-1-order-status"].payload
    to_edit = scenarios["demo-2-wrong-item"].payload
    to_reject = scenarios["exercise-3-wrong-return-window"].payload
    to_escalate = scenarios["demo-3-triple-charge"].payload
    approved = await bot.posted_draft(to_approve)
    edited = await bot.posted_draft(to_edit)
    rejected = await bot.posted_draft(to_reject)
    escalated = await bot.posted_draft(to_escalate)
    new_text = "Hi Alex, so sorry about the colour! A blue one ships today, overnight, on us."

    await bot.click(ActionId.APPROVE, approved, OPERATOR)
    for clicked, action in ((edited, ActionId.EDIT), (rejected, ActionId.REJECT)):
        await bot.click(action, clicked, OPERATOR)
    await bot.click(ActionId.ESCALATE, escalated, OPERATOR)
    await bot.settle()  # the forms are open before anyone submits one, as in Slack
    await bot.submit_edit(edited.id, OPERATOR, new_text)
    await bot.submit_reject(rejected.id, OPERATOR, "factual_error", "30 days, not 14.")
    await bot.submit_escalation(
        escalated.id, OPERATOR, type="high_value", urgency="urgent", notes="Triple charge."
    )
    await bot.settle()

    assert [r["content"] for r in chatwoot.sent_replies(to_approve["conversation_id"])] == [
        to_approve["draft"]
    ]
    assert [r["content"] for r in chatwoot.sent_replies(to_edit["conversation_id"])] == [new_text]
    assert chatwoot.sent_replies(to_reject["conversation_id"]) == []
    assert chatwoot.sent_replies(to_escalate["conversation_id"]) == []
    assert len(slack.calls("views.open")) == 3
    states = {d.id: (await bot.store.get_draft(d.id)) for d in (approved, edited, rejected)}
    assert states[approved.id].reply.status is DeliveryStatus.SENT
    assert states[edited.id].reply.status is DeliveryStatus.SENT
    assert states[edited.id].decision.final_text == new_text
    assert states[rejected.id].state is DraftState.REJECTED
    assert await bot.actions(approved.id) == [
        "draft.received",
        "draft.posted",
        "draft.approved",
        "reply.sent",
    ]
    assert await bot.actions(edited.id) == [
        "draft.received",
        "draft.posted",
        "draft.edited",
        "reply.sent",
    ]
    assert await bot.actions(rejected.id) == ["draft.received", "draft.posted", "draft.rejected"]
    assert await bot.actions(escalated.id) == [
        "draft.received",
        "draft.posted",
        "draft.escalated",
    ]

    escalation = await bot.store.escalation_for_draft(escalated.id)
    assert escalation.state is EscalationState.OPEN and escalation.notes == "Triple charge."
    [message] = slack.messages_in("#occ-escalations")
    assert "Claim" in json.dumps(message["blocks"])
    await bot.click_escalation(ActionId.CLAIM, escalation, MANAGER)
    await bot.settle()
    assert (await bot.store.get_escalation(escalation.id)).claimed_by == MANAGER
    await bot.click_escalation(ActionId.RESOLVE, escalation, MANAGER)
    await bot.settle()
    await bot.submit_resolution(
        escalation.id,
        MANAGER,
        outcome="refund",
        amount="59.98",
        summary="Refunded the duplicate charges.",
        reply="We've refunded the two duplicate charges.",
    )
    await bot.settle()
    final = await bot.store.get_escalation(escalation.id)
    assert final.state is EscalationState.RESOLVED and final.resolved_by == MANAGER
    assert await bot.actions(escalation.id) == [
        "escalation.posted",
        "escalation.noted",
        "escalation.claimed",
        "escalation.resolved",
        "escalation.replied",
        "escalation.resolution_noted",
    ]
