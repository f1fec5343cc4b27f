"""The CX SLA scan against the Chatwoot stand-in's conversation list, and the breach card's
buttons, as operators click them."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import pytest

from bot.blocks.ids import ActionId, InputId
from bot.domain import DeliveryStatus, Draft, DraftState
from bot.flows.cx_scan import ScanFailed
from bot.jobs import JOBS
from tests.harness import OPERATOR, BotUnderTest, settings_for

HOUR = 3600


def waiting(chatwoot, conversation_id: int, minutes: float, text: str = "Where is my order?"):
    """A customer message that has waited ``minutes`` for an agent."""
    return chatwoot.add_incoming(
        conversation_id,
        text,
        contact_name="Dana Whitfield",
        contact_email="dana@example.com",
        created_at=int(time.time() - minutes * 60),
    )


async def scan(bot: BotUnderTest) -> str:
    said = await JOBS["cx-scan"].run(bot.services)
    await bot.settle()
    return said


async def breach_cards(bot: BotUnderTest, slack) -> list[Draft]:
    """The drafts carded for CX breaches, oldest first, each with its card in Slack."""
    breached = [e for e in await bot.store.entries() if e.action == "cx.sla_breached"]
    cards = [await bot.store.get_draft(e.subject_id) for e in breached]
    for card in cards:
        assert card.card is not None and slack.message(card.card.channel, card.card.ts)
    return cards


async def test_a_conversation_past_the_sla_gets_one_card_with_its_last_messages(
    bot: BotUnderTest, slack, chatwoot
):
    chatwoot.add_incoming(
        301,
        "Hi, I ordered a blue mug.",
        contact_name="Dana Whitfield",
        created_at=int(time.time() - 3 * HOUR),
    )
    await bot.services.chatwoot.send_reply(301, "Thanks Dana, checking now!")
    waiting(chatwoot, 301, 61, "It arrived broken. Can I get a replacement?")
    waiting(chatwoot, 302, 59)  # not yet past the 60-minute SLA
    chatwoot.add_incoming(303, "Thanks!", created_at=int(time.time() - 2 * HOUR))
    await bot.services.chatwoot.send_reply(303, "You're welcome!")  # answered: nobody waits

    await scan(bot)
    await scan(bot)  # the next window: the same breach, no second card

    [card] = await breach_cards(bot, slack)
    message = slack.message(card.card.channel, card.card.ts)
    shown = json.dumps(message["blocks"])
    assert card.input.conversation_id == 301 and card.input.customer.name == "Dana Whitfield"
    assert "CX SLA breach" in shown and "Waiting for a reply since" in shown
    assert "blue mug" in shown and "checking now" in shown and "arrived broken" in shown
    buttons = [
        e["text"]["text"]
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    assert [b.split(" ", 1)[1] for b in buttons] == [
        "Approve & Send",
        "Edit",
        "Escalate",
        "Mark Resolved",
    ]
    assert card.input.customer_message == "It arrived broken. Can I get a replacement?"
    assert card.input.draft  # drafted from the knowledge base
    assert await bot.actions(card.id) == ["cx.sla_breached", "draft.received", "draft.posted"]
    [breach] = [
        e for e in await bot.store.entries(subject_id=card.id) if e.action == "cx.sla_breached"
    ]
    assert 61 * 60 <= breach.payload["waited_seconds"] < 62 * 60


async def test_a_new_customer_message_after_a_reply_is_a_new_breach(
    bot: BotUnderTest, slack, chatwoot, clock
):
    now = clock()
    waiting(chatwoot, 310, 200)
    clock.now = now - timedelta(minutes=130)  # the first scan, long ago
    await scan(bot)
    await bot.services.chatwoot.send_reply(310, "On it!")  # an agent answered in Chatwoot
    waiting(chatwoot, 310, 65, "Any news?")
    clock.now = now

    await scan(bot)  # the first card is still pending, but it is about the earlier wait

    cards = await breach_cards(bot, slack)
    assert [c.input.customer_message for c in cards] == ["Where is my order?", "Any news?"]


async def test_three_replicas_scanning_together_card_each_breach_once(
    postgres_url, slack, chatwoot, clock
):
    for conversation in range(320, 330):
        waiting(chatwoot, conversation, 70)
    replicas = [
        await BotUnderTest(settings_for(postgres_url, slack, chatwoot), clock).start()
        for _ in range(3)
    ]
    try:
        await asyncio.gather(*(JOBS["cx-scan"].run(r.services) for r in replicas))
        for replica in replicas:
            await replica.settle()
        cards = await breach_cards(replicas[0], slack)
        assert sorted(c.input.conversation_id for c in cards) == list(range(320, 330))
    finally:
        for replica in replicas:
            await replica.stop()


async def test_the_scan_reads_the_longest_wait_first_however_long_ago_it_was_active(
    bot: BotUnderTest, slack, chatwoot
):
    waiting(chatwoot, 400, 120)  # the oldest activity: the second page, most recent first
    for conversation in range(401, 431):
        chatwoot.add_incoming(conversation, "Hello", created_at=int(time.time() - 600))

    await scan(bot)

    [card] = await breach_cards(bot, slack)
    assert card.input.conversation_id == 400
    pages = [r for r in chatwoot.requests("GET") if r.path.endswith("/conversations")]
    assert len(pages) == 2  # one page of pending conversations, one of open ones
    assert all("sort_by=waiting_since_asc" in r.query for r in pages)


async def test_approve_and_send_on_a_breach_card_replies_in_chatwoot(
    bot: BotUnderTest, slack, chatwoot
):
    waiting(chatwoot, 340, 75)
    await scan(bot)
    [card] = await breach_cards(bot, slack)

    await bot.click(ActionId.APPROVE, card, OPERATOR)
    await bot.settle()

    assert [m["content"] for m in chatwoot.sent_replies(340)] == [card.input.draft]
    assert (await bot.store.get_draft(card.id)).reply.status is DeliveryStatus.SENT


@pytest.mark.parametrize("reason", ["customer_confirmed", "documented_elsewhere"])
async def test_mark_resolved_asks_why_and_sends_nothing(bot: BotUnderTest, slack, chatwoot, reason):
    waiting(chatwoot, 350, 75)
    await scan(bot)
    [card] = await breach_cards(bot, slack)

    await bot.click(ActionId.MARK_RESOLVED, card, OPERATOR)
    await bot.settle()
    view = slack.last("views.open").args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    [select] = [b for b in view["blocks"] if b.get("block_id") == InputId.REJECT_REASON]
    assert [o["value"] for o in select["element"]["options"]] == [
        "customer_confirmed",
        "documented_elsewhere",
    ]
    await bot.submit_reject(card.id, OPERATOR, reason, "Called her; all good.")
    await bot.settle()

    decided = await bot.store.get_draft(card.id)
    assert decided.state is DraftState.REJECTED and decided.decision.reason.value == reason
    assert chatwoot.sent_replies(350) == []
    shown = json.dumps(slack.message(card.card.channel, card.card.ts)["blocks"])
    assert "Marked resolved" in shown and "nothing was sent" in shown


async def test_escalate_on_a_breach_card_reaches_the_managers(bot: BotUnderTest, slack, chatwoot):
    waiting(chatwoot, 360, 75)
    await scan(bot)
    [card] = await breach_cards(bot, slack)

    await bot.submit_escalation(card.id, OPERATOR, type="other", urgency="high", notes="Angry.")
    await bot.settle()

    assert (await bot.store.get_draft(card.id)).state is DraftState.ESCALATED
    assert len(slack.messages_in("#occ-escalations")) == 1


async def test_chatwoot_down_fails_the_scan_with_one_alert_then_it_catches_up(
    bot: BotUnderTest, slack, chatwoot
):
    waiting(chatwoot, 370, 75)
    chatwoot.down(503)

    for _ in range(2):
        with pytest.raises(ScanFailed):
            await scan(bot)
    assert await breach_cards(bot, slack) == []
    [alert] = slack.messages_in("#occ-reliability")
    assert "chatwoot" in alert["text"].lower()

    chatwoot.up()
    await scan(bot)

    [card] = await breach_cards(bot, slack)
    assert card.input.conversation_id == 370
    assert len(slack.messages_in("#occ-reliability")) == 2  # and the recovery


async def test_a_conversation_whose_card_still_waits_gets_no_second_card(
    bot: BotUnderTest, slack, chatwoot
):
    message = waiting(chatwoot, 380, 90)
    response = await bot.chatwoot_event(chatwoot.message_created_event(message))
    assert response.status_code == 202
    await bot.settle()

    await scan(bot)

    drafts = [m for m in slack.messages_in("#occ-approvals") if m.get("blocks")]
    assert len(drafts) == 1  # the webhook's card, still pending: the operators already have it
    assert await breach_cards(bot, slack) == []


async def test_a_new_message_after_mark_resolved_is_carded_again(
    bot: BotUnderTest, slack, chatwoot
):
    waiting(chatwoot, 390, 75)
    await scan(bot)
    [card] = await breach_cards(bot, slack)
    await bot.submit_reject(card.id, OPERATOR, "customer_confirmed")
    await bot.settle()
    await scan(bot)
    assert len(await breach_cards(bot, slack)) == 1  # resolved: the same wait is not carded again

    waiting(chatwoot, 390, 70, "Actually it never arrived.")  # no agent reply: same wait
    await scan(bot)

    cards = await breach_cards(bot, slack)
    assert [c.input.customer_message.splitlines()[-1] for c in cards] == [
        "Where is my order?",
        "Actually it never arrived.",
    ]


async def test_edit_on_a_breach_card_sends_the_operators_text(bot: BotUnderTest, slack, chatwoot):
    waiting(chatwoot, 395, 75)
    await scan(bot)
    [card] = await breach_cards(bot, slack)

    await bot.click(ActionId.EDIT, card, OPERATOR)
    await bot.settle()
    await bot.submit_edit(card.id, OPERATOR, "Hi Dana, a new mug ships today. Sorry!")
    await bot.settle()

    assert [m["content"] for m in chatwoot.sent_replies(395)] == [
        "Hi Dana, a new mug ships today. Sorry!"
    ]


async def test_a_customer_waiting_in_a_pending_conversation_is_a_breach_too(
    sqlite_url, slack, clock
):
    """An inbox with an agent bot keeps new conversations pending (docs/real-services.md)."""
    from bot.demo.standins.chatwoot import ChatwootStandin

    async with ChatwootStandin(agent_bot=True) as chatwoot:
        waiting(chatwoot, 401, 90, "The bot keeps answering, I need a person.")
        bot = await BotUnderTest(settings_for(sqlite_url, slack, chatwoot), clock).start()
        try:
            said = await scan(bot)
            [card] = await breach_cards(bot, slack)
        finally:
            await bot.stop()
    assert said.startswith("1 breached")
    assert card.input.conversation_id == 401
