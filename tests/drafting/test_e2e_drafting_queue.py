"""Drafting off the webhook's path: the message is stored and answered at once, a burst becomes
one draft, a newer message supersedes a pending card, and a restart loses nothing."""

from __future__ import annotations

import asyncio
import json
import time

from bot.blocks.ids import ActionId
from bot.jobs import JOBS
from tests.approvals.test_e2e_approve import button_texts
from tests.harness import MANAGER, BotUnderTest, bot_with_model, eventually, settings_for


def card_text(message: dict) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False)


async def test_a_burst_of_three_messages_becomes_one_draft_that_answers_them_all(
    sqlite_url, slack, chatwoot, clock
):
    settings = settings_for(sqlite_url, slack, chatwoot, OCC_DRAFT_QUIET_SECONDS=0.5)
    bot = await BotUnderTest(settings, clock).start()
    try:
        texts = ["Hi there", "Do you ship to Canada?", "And how long does it take?"]
        answers = []
        for text in texts:
            message = chatwoot.add_incoming(31, text, contact_name="Jen Walsh")
            answers.append(await bot.chatwoot_event(chatwoot.message_created_event(message)))
        await bot.settle()
        [draft] = await bot.store.drafts_awaiting_decision(31)
        entries = await bot.store.entries()
    finally:
        await bot.stop()

    assert [a.status_code for a in answers] == [202, 202, 202]
    [card] = slack.calls("chat.postMessage")
    assert all(text in card_text(card.args) for text in texts)
    assert (
        draft.input.customer_message
        == "Hi there\n\nDo you ship to Canada?\n\nAnd how long does it take?"
    )
    assert "International Shipping Policy" in card_text(card.args)
    [received] = [e for e in entries if e.action == "draft.received"]
    assert received.payload["messages"] == [a.json()["message"] for a in answers]


async def test_a_newer_message_supersedes_the_pending_card(bot: BotUnderTest, slack, chatwoot):
    first = chatwoot.add_incoming(32, "Where is my order #1001?", contact_name="Sam")
    await bot.chatwoot_event(chatwoot.message_created_event(first))
    await bot.settle()
    [older] = await bot.store.drafts_awaiting_decision(32)
    second = chatwoot.add_incoming(32, "Also, can I change the address?", contact_name="Sam")
    await bot.chatwoot_event(chatwoot.message_created_event(second))
    await bot.settle()

    [newer] = await bot.store.drafts_awaiting_decision(32)
    assert newer.id != older.id
    assert newer.input.customer_message == (
        "Where is my order #1001?\n\nAlso, can I change the address?"
    )
    old_card = slack.message(older.card.channel, older.card.ts)
    assert "Superseded" in card_text(old_card) and button_texts(old_card) == []
    new_card = slack.message(newer.card.channel, newer.card.ts)
    assert [b for b in button_texts(new_card) if "Approve" in b]

    await bot.click(ActionId.APPROVE, older, MANAGER)
    await bot.settle()
    [refusal] = slack.ephemerals(MANAGER)
    assert "wrote again" in refusal["text"]
    assert chatwoot.sent_replies(32) == []
    entries = await bot.store.entries()
    [superseded] = [e for e in entries if e.action == "draft.superseded"]
    assert (superseded.subject_id, superseded.payload) == (older.id, {"superseded_by": newer.id})
    assert (await bot.store.queue_summary(bot.clock())).pending == 1


async def test_a_restart_between_storing_and_drafting_still_drafts(
    sqlite_url, slack, chatwoot, clock
):
    # The first replica stores the message and stops inside its quiet period.
    slow = settings_for(sqlite_url, slack, chatwoot, OCC_DRAFT_QUIET_SECONDS=300)
    first = await BotUnderTest(slow, clock).start()
    try:
        message = chatwoot.add_incoming(33, "Do you ship to Canada?", contact_name="Jen")
        answer = await first.chatwoot_event(chatwoot.message_created_event(message))
    finally:
        await first.stop()
    assert answer.status_code == 202 and slack.calls("chat.postMessage") == []

    clock.advance(minutes=6)
    second = await BotUnderTest(settings_for(sqlite_url, slack, chatwoot), clock).start()
    try:
        said = await JOBS["drafting"].run(second.services)
        await second.settle()
        [draft] = await second.store.drafts_awaiting_decision(33)
        [stored] = await second.store.inbound_messages(33)
    finally:
        await second.stop()
    assert said.startswith("1 conversations")
    assert draft.card is not None and draft.input.customer_message == "Do you ship to Canada?"
    assert (stored.state.value, stored.draft_id) == ("drafted", draft.id)


async def test_the_drafting_job_leaves_a_conversation_in_its_quiet_period_alone(
    sqlite_url, slack, chatwoot, clock
):
    slow = settings_for(sqlite_url, slack, chatwoot, OCC_DRAFT_QUIET_SECONDS=300)
    bot = await BotUnderTest(slow, clock).start()
    try:
        message = chatwoot.add_incoming(34, "Hello?", contact_name="Jen")
        await bot.chatwoot_event(chatwoot.message_created_event(message))
        said = await JOBS["drafting"].run(bot.services)
    finally:
        await bot.stop()
    assert said.startswith("0 conversations")
    assert slack.calls("chat.postMessage") == []


async def test_two_replicas_draft_a_redelivered_message_once(sqlite_url, slack, chatwoot, clock):
    replicas = [
        await BotUnderTest(settings_for(sqlite_url, slack, chatwoot), clock).start()
        for _ in range(2)
    ]
    try:
        message = chatwoot.add_incoming(35, "Do you ship to Canada?", contact_name="Jen")
        event = chatwoot.message_created_event(message)
        answers = [await replica.chatwoot_event(event) for replica in replicas]
        clock.advance(minutes=1)
        for replica in replicas:
            await JOBS["drafting"].run(replica.services)
            await replica.settle()
        drafts = await replicas[0].store.drafts_awaiting_decision(35)
    finally:
        for replica in replicas:
            await replica.stop()
    assert sorted(a.status_code for a in answers) == [200, 202]
    assert len(drafts) == 1 and len(slack.calls("chat.postMessage")) == 1


async def test_a_new_message_supersedes_only_the_drafts_it_answers_for(
    bot: BotUnderTest, slack, chatwoot
):
    # A draft from the team's own drafting service, about something else in the conversation:
    # the customer's new message does not answer for it, so it stays in the queue.
    posted = await bot.posted_draft(
        {
            "conversation_id": 36,
            "customer_message": "(Proactive) Your order is delayed by two days.",
            "draft": "Hi! Your order ships on Friday; sorry for the wait.",
            "confidence": 0.9,
        }
    )
    message = chatwoot.add_incoming(36, "Do you ship to Canada?", contact_name="Jen")
    await bot.chatwoot_event(chatwoot.message_created_event(message))
    await bot.settle()
    pending = await bot.store.drafts_awaiting_decision(36)
    assert posted.id in [d.id for d in pending] and len(pending) == 2
    assert [e for e in await bot.store.entries() if e.action == "draft.superseded"] == []


async def test_a_message_that_arrives_while_its_conversation_is_drafted_is_drafted_next(
    sqlite_url, slack, chatwoot, clock
):
    answer = json.dumps({"reply": "Hi! Yes, we ship to Canada.", "confidence": 0.8})
    asked: list[int] = []

    def slow_first(_body: dict) -> str:
        asked.append(1)
        if len(asked) == 1:
            time.sleep(1.0)  # the first drafting holds the conversation meanwhile
        return answer

    async with bot_with_model(sqlite_url, slack, chatwoot, clock, slow_first) as (bot, _):
        first = chatwoot.add_incoming(37, "Do you ship to Canada?", contact_name="Jen")
        await bot.chatwoot_event(chatwoot.message_created_event(first))
        while not asked:  # the first drafting is under way
            await asyncio.sleep(0.02)
        second = chatwoot.add_incoming(37, "And how long does shipping take?", contact_name="Jen")
        await bot.chatwoot_event(chatwoot.message_created_event(second))
        await bot.settle()  # no job runs in these tests: only the bot's own re-try can draft it
        [latest] = await bot.store.drafts_awaiting_decision(37)
        messages = await bot.store.inbound_messages(37)
    assert len(asked) == 2
    assert latest.input.customer_message == (
        "Do you ship to Canada?\n\nAnd how long does shipping take?"
    )
    assert {m.draft_id for m in messages} == {latest.id}


async def test_a_card_posted_after_its_draft_was_superseded_says_so(
    bot: BotUnderTest, slack, chatwoot
):
    posts = slack.hold("chat.postMessage")  # a slow Slack: the first card is on its way
    first = chatwoot.add_incoming(38, "Where is my order #1001?", contact_name="Sam")
    await bot.chatwoot_event(chatwoot.message_created_event(first))
    await eventually(lambda: posts.held == 1)
    second = chatwoot.add_incoming(38, "Also, can I change the address?", contact_name="Sam")
    await bot.chatwoot_event(chatwoot.message_created_event(second))
    await eventually(lambda: posts.held == 2)  # superseded while its card was on its way
    posts.set()
    await bot.settle()

    drafts = {d.input.customer_message: d for d in await bot.store.drafts_awaiting_decision(38)}
    assert list(drafts) == ["Where is my order #1001?\n\nAlso, can I change the address?"]
    [older] = [e.subject_id for e in await bot.store.entries() if e.action == "draft.superseded"]
    superseded = await bot.store.get_draft(older)
    card = slack.message(superseded.card.channel, superseded.card.ts)
    assert "Superseded" in card_text(card) and button_texts(card) == []
