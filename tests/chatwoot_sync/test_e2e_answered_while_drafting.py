"""Drafting takes time: an agent who answers (or resolves) in Chatwoot while the customer's
message is being drafted finds no card to retire. The draft is retired as soon as it is
stored, and its card is never posted; a customer who writes again after the agent's answer
gets a draft and a card as always. Real webhook bodies; the model (the OpenAI stand-in) holds
each drafting until the test lets it answer."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.blocks.ids import ActionId
from bot.domain import DraftState, RetiredBecause
from bot.flows.drafting import message_key
from tests.chatwoot_sync.test_e2e_done_in_chatwoot import OLIVIA
from tests.harness import OPERATOR, BotUnderTest, FakeClock, bot_with_model, eventually
from tests.openai_standin import OpenAIStandin

CONVERSATION = 77
ANSWER = '{"reply": "Hi Jen! Yes, we ship to Canada.", "confidence": 0.9}'


@dataclass
class Drafting:
    """The bot, and a model that answers only once `answer()` is called."""

    bot: BotUnderTest
    api: OpenAIStandin
    released: threading.Event

    async def started(self, times: int = 1) -> None:
        await eventually(lambda: len(self.api.completions()) >= times)

    async def answer(self) -> None:
        self.released.set()
        await self.bot.settle()


@pytest.fixture
async def drafting(sqlite_url, slack, chatwoot, clock) -> AsyncIterator[Drafting]:
    released = threading.Event()

    def held(body: dict[str, Any]) -> str:  # runs in the stand-in's own thread
        released.wait(timeout=30)
        return ANSWER

    async with bot_with_model(sqlite_url, slack, chatwoot, clock, held) as (bot, api):
        try:
            yield Drafting(bot, api, released)
        finally:
            released.set()


async def customer_writes(bot: BotUnderTest, chatwoot, text: str) -> dict:
    message = chatwoot.add_incoming(CONVERSATION, text, contact_name="Jen")
    response = await bot.chatwoot_event(chatwoot.message_created_event(message))
    assert response.status_code == 202
    return message


async def chatwoot_tells(bot: BotUnderTest, event: dict, still_running: int = 1) -> None:
    """Deliver a webhook and wait for its work alone (the drafting still holds)."""
    await bot.chatwoot_event(event)
    assert bot.services is not None
    await eventually(lambda: bot.services.background.pending <= still_running)


async def test_a_reply_typed_in_chatwoot_while_the_message_was_drafted_retires_its_draft(
    drafting: Drafting, slack, chatwoot, clock: FakeClock
):
    bot = drafting.bot
    message = await customer_writes(bot, chatwoot, "Do you ship to Canada?")
    await drafting.started()
    clock.advance(seconds=30)
    answered_at = clock()
    await chatwoot_tells(bot, chatwoot.agent_replies(CONVERSATION, "Yes, we do!", OLIVIA))

    await drafting.answer()

    draft = await bot.store.draft_for_external_id(message_key(message["id"]))
    assert draft is not None and draft.state is DraftState.RETIRED
    assert draft.retired.because is RetiredBecause.ANSWERED
    assert (draft.retired.by, draft.retired.at) == ("Olivia Operator", answered_at)
    assert draft.card is None  # never posted: there is nothing left to decide
    approvals = bot.settings.approvals_channel
    assert [c for c in slack.calls("chat.postMessage") if c.args["channel"] == approvals] == []
    assert await bot.actions(draft.id) == ["draft.received", "draft.retired"]
    [row] = [e for e in await bot.store.entries(subject_id=draft.id) if e.actor == "chatwoot"]
    assert row.payload["because"] == "answered"
    assert row.payload["agent"] == {"name": "Olivia Operator"}
    assert [m["content"] for m in chatwoot.sent_replies(CONVERSATION)] == ["Yes, we do!"]


async def test_a_conversation_resolved_while_its_message_was_drafted_retires_its_draft(
    drafting: Drafting, chatwoot, clock: FakeClock
):
    bot = drafting.bot
    message = await customer_writes(bot, chatwoot, "Do you ship to Canada?")
    await drafting.started()
    clock.advance(seconds=30)
    await chatwoot_tells(bot, chatwoot.resolved_event(CONVERSATION))

    await drafting.answer()

    draft = await bot.store.draft_for_external_id(message_key(message["id"]))
    assert draft.retired is not None and draft.retired.because is RetiredBecause.RESOLVED
    assert draft.card is None


async def test_a_customer_who_writes_again_after_the_answer_gets_a_card(
    drafting: Drafting, chatwoot, clock: FakeClock
):
    bot = drafting.bot
    first = await customer_writes(bot, chatwoot, "Do you ship to Canada?")
    await drafting.started()
    clock.advance(seconds=30)
    await chatwoot_tells(bot, chatwoot.agent_replies(CONVERSATION, "Yes!", OLIVIA))
    clock.advance(seconds=30)
    again = await customer_writes(bot, chatwoot, "And how long does it take?")

    await drafting.answer()  # the first drafting, then the second message's own

    retired = await bot.store.draft_for_external_id(message_key(first["id"]))
    assert retired.state is DraftState.RETIRED
    draft = await bot.store.draft_for_external_id(message_key(again["id"]))
    assert draft.state is DraftState.PENDING and draft.card is not None
    assert draft.input.customer_message == "And how long does it take?"


async def test_the_bots_own_reply_while_a_message_was_drafted_retires_nothing(
    drafting: Drafting, chatwoot, clock: FakeClock, scenarios
):
    bot = drafting.bot
    # An operator approves a draft of the conversation sent over POST /drafts…
    payload = scenarios["demo-1-order-status"].payload | {"conversation_id": CONVERSATION}
    earlier = await bot.posted_draft(payload)
    await bot.click(ActionId.APPROVE, earlier, OPERATOR)
    await bot.settle()
    [sent] = chatwoot.sent_replies(CONVERSATION)
    # …the customer writes, and Chatwoot's webhook for that reply arrives mid-drafting.
    message = await customer_writes(bot, chatwoot, "And do you ship to Canada too?")
    await drafting.started()
    clock.advance(seconds=30)
    await chatwoot_tells(bot, chatwoot.message_created_event(sent))

    await drafting.answer()

    draft = await bot.store.draft_for_external_id(message_key(message["id"]))
    assert draft.state is DraftState.PENDING and draft.card is not None
