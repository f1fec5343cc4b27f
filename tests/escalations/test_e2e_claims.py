"""Claim as managers click it: one winner when two click at once, and a clear answer on an
unknown, already claimed or resolved escalation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from bot.blocks.ids import ActionId
from bot.domain import Escalation, EscalationState
from tests.harness import MANAGER, OPERATOR, BotUnderTest, settings_for

SECOND_MANAGER = "U0MANAGER2"


@pytest.fixture
async def managers_bot(sqlite_url, slack, chatwoot, clock) -> AsyncIterator[BotUnderTest]:
    settings = settings_for(sqlite_url, slack, chatwoot, OCC_MANAGERS=f"{MANAGER},{SECOND_MANAGER}")
    instance = await BotUnderTest(settings, clock).start()
    try:
        yield instance
    finally:
        await instance.stop()


async def escalated(bot: BotUnderTest, scenarios) -> Escalation:
    draft = await bot.posted_draft(scenarios["demo-3-triple-charge"].payload)
    await bot.submit_escalation(draft.id, OPERATOR, type="high_value", urgency="urgent", notes="n")
    await bot.settle()
    escalation = await bot.store.escalation_for_draft(draft.id)
    assert escalation is not None and escalation.message is not None
    return escalation


def told(slack, user: str) -> list[str]:
    return [e["text"] for e in slack.ephemerals(user)]


async def test_two_managers_claiming_at_once_have_one_winner_and_the_other_is_told(
    managers_bot: BotUnderTest, slack, scenarios
):
    bot = managers_bot
    escalation = await escalated(bot, scenarios)

    await asyncio.gather(
        bot.click_escalation(ActionId.CLAIM, escalation, MANAGER),
        bot.click_escalation(ActionId.CLAIM, escalation, SECOND_MANAGER),
    )
    await bot.settle()

    claimed = await bot.store.get_escalation(escalation.id)
    assert claimed.state is EscalationState.CLAIMED
    loser = SECOND_MANAGER if claimed.claimed_by == MANAGER else MANAGER
    [notice] = told(slack, loser)
    assert notice.startswith(f"Already claimed by <@{claimed.claimed_by}>")
    assert told(slack, claimed.claimed_by) == []
    actions = await bot.actions(escalation.id)
    assert actions.count("escalation.claimed") == 1


async def test_claim_on_an_unknown_escalation_says_so_and_changes_nothing(
    bot: BotUnderTest, slack, scenarios
):
    escalation = await escalated(bot, scenarios)
    gone = replace(escalation, id="esc_does_not_exist")

    response = await bot.click_escalation(ActionId.CLAIM, gone, MANAGER)
    await bot.settle()

    assert response.status_code == 200
    assert told(slack, MANAGER) == ["That escalation no longer exists."]
    assert await bot.store.entries(subject_id=gone.id) == []
    assert (await bot.store.get_escalation(escalation.id)).state is EscalationState.OPEN


async def test_claim_on_a_resolved_escalations_stale_message_says_who_resolved_it(
    bot: BotUnderTest, slack, scenarios
):
    escalation = await escalated(bot, scenarios)
    await bot.click_escalation(ActionId.CLAIM, escalation, MANAGER)
    await bot.settle()
    await bot.submit_resolution(escalation.id, MANAGER, outcome="replacement", summary="Sent.")
    await bot.settle()

    await bot.click_escalation(ActionId.CLAIM, escalation, MANAGER)  # an old copy of the message
    await bot.settle()

    assert told(slack, MANAGER)[-1].startswith(f"Already resolved by <@{MANAGER}>")
    final = await bot.store.get_escalation(escalation.id)
    assert final.state is EscalationState.RESOLVED
    assert (await bot.actions(escalation.id)).count("escalation.claimed") == 1
