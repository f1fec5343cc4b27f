"""Refused actions change nothing and tell only the user why; races have one winner."""

from __future__ import annotations

import asyncio

from bot.blocks.ids import ActionId
from bot.domain import DraftState
from tests.harness import (
    MANAGER,
    OPERATOR,
    OUTSIDER,
    SECOND_OPERATOR,
    BotUnderTest,
    settings_for,
)


async def refused_rows(bot: BotUnderTest, draft_id: str) -> list:
    return [e for e in await bot.store.entries(subject_id=draft_id) if e.outcome == "refused"]


async def test_operator_cannot_approve_a_draft_policy_says_must_be_escalated(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    payload = scenarios["demo-3-triple-charge"].payload
    draft = await bot.posted_draft(payload)

    await bot.click(ActionId.APPROVE, draft, OPERATOR)
    await bot.click(ActionId.EDIT, draft, OPERATOR)
    await bot.settle()

    assert chatwoot.sent_replies(payload["conversation_id"]) == []
    assert slack.calls("views.open") == []
    assert (await bot.store.get_draft(draft.id)).state is DraftState.PENDING
    notices = slack.ephemerals(OPERATOR)
    assert len(notices) == 2
    assert "escalate" in notices[0]["text"].lower() and "manager" in notices[0]["text"].lower()
    assert "$1,350" in notices[0]["text"] or "1,350" in notices[0]["text"]
    assert [e.actor for e in await refused_rows(bot, draft.id)] == [OPERATOR, OPERATOR]


async def test_escalate_stays_open_to_operators_on_a_flagged_draft(
    bot: BotUnderTest, slack, scenarios
):
    draft = await bot.posted_draft(scenarios["exercise-7-checkout-error-500"].payload)
    await bot.click(ActionId.ESCALATE, draft, OPERATOR)
    await bot.settle()
    assert len(slack.calls("views.open")) == 1
    assert slack.ephemerals(OPERATOR) == []


async def test_a_manager_may_approve_a_flagged_draft(bot: BotUnderTest, chatwoot, scenarios):
    payload = scenarios["exercise-5-policy-exception"].payload
    draft = await bot.posted_draft(payload)
    await bot.click(ActionId.APPROVE, draft, MANAGER)
    await bot.settle()
    assert len(chatwoot.sent_replies(payload["conversation_id"])) == 1


async def test_only_listed_operators_may_act_when_the_list_is_set(
    sqlite_url, slack, chatwoot, clock, scenarios
):
    settings = settings_for(sqlite_url, slack, chatwoot, OCC_OPERATORS=OPERATOR)
    bot = await BotUnderTest(settings, clock).start()
    try:
        payload = scenarios["demo-1-order-status"].payload
        draft = await bot.posted_draft(payload)
        await bot.click(ActionId.APPROVE, draft, OUTSIDER)
        await bot.settle()
        assert chatwoot.sent_replies(payload["conversation_id"]) == []
        [notice] = slack.ephemerals(OUTSIDER)
        assert "OCC_OPERATORS" in notice["text"]
        await bot.click(ActionId.APPROVE, draft, OPERATOR)
        await bot.settle()
        assert len(chatwoot.sent_replies(payload["conversation_id"])) == 1
    finally:
        await bot.stop()


async def test_the_second_approver_is_told_who_won(bot: BotUnderTest, slack, chatwoot, scenarios):
    payload = scenarios["demo-1-order-status"].payload
    draft = await bot.posted_draft(payload)

    await bot.click(ActionId.APPROVE, draft, OPERATOR)
    await bot.settle()
    await bot.click(ActionId.APPROVE, draft, SECOND_OPERATOR)
    await bot.settle()

    assert len(chatwoot.sent_replies(payload["conversation_id"])) == 1
    [notice] = slack.ephemerals(SECOND_OPERATOR)
    assert f"<@{OPERATOR}>" in notice["text"] and "already approved" in notice["text"]
    assert slack.ephemerals(OPERATOR) == []


async def test_double_click_sends_one_reply(bot: BotUnderTest, chatwoot, scenarios):
    payload = scenarios["exercise-1-international-shipping"].payload
    draft = await bot.posted_draft(payload)
    await asyncio.gather(*(bot.click(ActionId.APPROVE, draft, OPERATOR) for _ in range(2)))
    await bot.settle()
    assert len(chatwoot.sent_replies(payload["conversation_id"])) == 1


async def test_reject_after_approve_changes_nothing(bot: BotUnderTest, slack, chatwoot, scenarios):
    payload = scenarios["demo-1-order-status"].payload
    draft = await bot.posted_draft(payload)
    await bot.click(ActionId.APPROVE, draft, OPERATOR)
    await bot.settle()
    await bot.submit_reject(draft.id, SECOND_OPERATOR, "wrong_tone")
    await bot.settle()
    stored = await bot.store.get_draft(draft.id)
    assert stored.state is DraftState.APPROVED and stored.decision.actor == OPERATOR
    assert "already approved" in slack.ephemerals(SECOND_OPERATOR)[0]["text"]
