"""Refused actions change nothing and tell only the user why; races have one winner."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.blocks.ids import ActionId
from bot.domain import DeliveryStatus, DraftState
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


async def test_an_operator_submitting_the_edit_modal_on_a_flagged_draft_is_refused(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    # The guide's $500 angry customer (exercise 6): high value and a social-media threat.
    payload = scenarios["exercise-6-angry-high-value"].payload
    draft = await bot.posted_draft(payload)
    edited = "Robert, I'm so sorry. I've refunded the $500 and added $50 for the trouble."

    await bot.submit_edit(draft.id, OPERATOR, edited)
    await bot.settle()

    assert chatwoot.requests("POST") == []  # no assignment, no reply, no note
    assert slack.calls("chat.update") == []
    stored = await bot.store.get_draft(draft.id)
    assert stored.state is DraftState.PENDING and stored.decision is None
    [notice] = slack.ephemerals(OPERATOR)
    assert notice["channel"] == draft.card.channel
    assert notice["text"].startswith(
        'This draft must be escalated ($500 at stake (over $100): "$500"'
    )
    assert 'threat: "social media"' in notice["text"]
    assert notice["text"].endswith(
        "Sending it is reserved for managers: use Escalate, or ask a manager."
    )
    [row] = await refused_rows(bot, draft.id)
    assert (row.actor, row.payload["attempted"]) == (OPERATOR, "edit")

    # The same submission from a manager goes through: the refusal was about who, not what.
    await bot.submit_edit(draft.id, MANAGER, edited)
    await bot.settle()
    assert [r["content"] for r in chatwoot.sent_replies(payload["conversation_id"])] == [edited]


NOT_AN_OPERATOR = "Only the operators listed in OCC_OPERATORS can act on drafts."


@pytest.fixture
async def listed_bot(sqlite_url, slack, chatwoot, clock) -> AsyncIterator[BotUnderTest]:
    """A bot whose OCC_OPERATORS lists only OPERATOR (MANAGER is a manager)."""
    settings = settings_for(sqlite_url, slack, chatwoot, OCC_OPERATORS=OPERATOR)
    instance = await BotUnderTest(settings, clock).start()
    try:
        yield instance
    finally:
        await instance.stop()


# Each action as `user`, and what it does when a listed operator performs it.
ACTIONS = {
    "approve": (
        "approve",
        lambda bot, draft, user: bot.click(ActionId.APPROVE, draft, user),
    ),
    "edit button": ("edit", lambda bot, draft, user: bot.click(ActionId.EDIT, draft, user)),
    "edit submit": (
        "edit",
        lambda bot, draft, user: bot.submit_edit(draft.id, user, "Hi Susan, it ships today."),
    ),
    "reject button": ("reject", lambda bot, draft, user: bot.click(ActionId.REJECT, draft, user)),
    "reject submit": (
        "reject",
        lambda bot, draft, user: bot.submit_reject(draft.id, user, "wrong_tone", "no"),
    ),
    "escalate button": (
        "escalate",
        lambda bot, draft, user: bot.click(ActionId.ESCALATE, draft, user),
    ),
    "escalate submit": (
        "escalate",
        lambda bot, draft, user: bot.submit_escalation(
            draft.id, user, type="other", urgency="normal", notes="please look"
        ),
    ),
}


async def did_it(bot: BotUnderTest, slack, chatwoot, draft, action: str) -> bool:
    """Whether `action` visibly happened: a modal opened, or the draft was decided."""
    stored = await bot.store.get_draft(draft.id)
    if action.endswith("button"):
        return len(slack.calls("views.open")) == 1 and stored.state is DraftState.PENDING
    expected = {
        "approve": DraftState.APPROVED,
        "edit submit": DraftState.APPROVED,
        "reject submit": DraftState.REJECTED,
        "escalate submit": DraftState.ESCALATED,
    }[action]
    return stored.state is expected


@pytest.mark.parametrize("action", list(ACTIONS))
async def test_with_occ_operators_set_an_outsider_is_refused_on_every_action(
    listed_bot: BotUnderTest, slack, chatwoot, scenarios, action
):
    bot = listed_bot
    attempted, perform = ACTIONS[action]
    payload = scenarios["demo-1-order-status"].payload  # no flags: only the list matters
    draft = await bot.posted_draft(payload)

    response = await perform(bot, draft, OUTSIDER)
    assert response.status_code == 200
    await bot.settle()

    assert [n["text"] for n in slack.ephemerals(OUTSIDER)] == [NOT_AN_OPERATOR]
    assert slack.ephemerals(OUTSIDER)[0]["channel"] == draft.card.channel
    assert slack.calls("views.open") == []
    assert slack.calls("chat.update") == []
    assert chatwoot.requests("POST") == []
    assert await bot.store.get_draft(draft.id) == draft
    assert await bot.store.escalation_for_draft(draft.id) is None
    [row] = await refused_rows(bot, draft.id)
    assert (row.actor, row.payload["attempted"]) == (OUTSIDER, attempted)
    assert not await did_it(bot, slack, chatwoot, draft, action)

    # The listed operator doing the very same thing is not refused.
    await perform(bot, draft, OPERATOR)
    await bot.settle()
    assert slack.ephemerals(OPERATOR) == []
    assert await did_it(bot, slack, chatwoot, draft, action)


async def test_with_occ_operators_set_an_outsider_cannot_retry_a_failed_reply(
    listed_bot: BotUnderTest, slack, chatwoot, scenarios
):
    bot = listed_bot
    payload = scenarios["demo-1-order-status"].payload
    draft = await bot.posted_draft(payload)
    chatwoot.down(503)
    await bot.click(ActionId.APPROVE, draft, OPERATOR)
    await bot.settle()
    chatwoot.up()
    failed = await bot.store.get_draft(draft.id)
    assert failed.reply.status is DeliveryStatus.FAILED and failed.reply.attempts == 1
    posts_before = len(chatwoot.requests("POST"))

    await bot.click(ActionId.RETRY, draft, OUTSIDER)
    await bot.settle()

    assert [n["text"] for n in slack.ephemerals(OUTSIDER)] == [NOT_AN_OPERATOR]
    assert len(chatwoot.requests("POST")) == posts_before
    assert chatwoot.sent_replies(payload["conversation_id"]) == []
    assert await bot.store.get_draft(draft.id) == failed
    [refused] = [e for e in await bot.store.entries(subject_id=draft.id) if e.actor == OUTSIDER]
    assert (str(refused.action), refused.outcome) == ("draft.refused", "refused")
    assert refused.payload["attempted"] == "retry"

    await bot.click(ActionId.RETRY, draft, OPERATOR)
    await bot.settle()
    assert len(chatwoot.sent_replies(payload["conversation_id"])) == 1
    assert (await bot.store.get_draft(draft.id)).reply.status is DeliveryStatus.SENT


async def test_a_refusal_shows_the_customers_words_escaped(bot: BotUnderTest, slack, scenarios):
    payload = {
        **scenarios["demo-1-order-status"].payload,
        "customer_message": (
            "<!channel> I want a refund of $900, even though it's been <http://evil|bank> "
            "& 6 weeks. Please make an exception."
        ),
        "order": {"id": "<!channel>", "value_usd": 1350},
    }
    draft = await bot.posted_draft(payload)

    await bot.click(ActionId.APPROVE, draft, OPERATOR)
    await bot.settle()

    [notice] = slack.ephemerals(OPERATOR)
    text = notice["text"]
    assert "$1,350 at stake (over $100): order #&lt;!channel&gt; value" in text
    assert '"even though it\'s been &lt;http://evil|bank&gt; &amp; 6 weeks"' in text
    for raw in ("<!channel>", "<http://evil|bank>", " & "):
        assert raw not in text
    assert (await bot.store.get_draft(draft.id)).state is DraftState.PENDING


async def test_a_refusal_reaches_the_user_when_the_bot_was_removed_from_the_channel(
    bot: BotUnderTest, slack, scenarios
):
    # Real Slack refuses chat.postEphemeral with not_in_channel, chat:write.public or not.
    draft = await bot.posted_draft(scenarios["demo-1-order-status"].payload)
    await bot.click(ActionId.APPROVE, draft, OPERATOR)
    await bot.settle()
    slack.kick("#occ-approvals")

    await bot.click(ActionId.APPROVE, draft, SECOND_OPERATOR)
    await bot.settle()

    [notice] = slack.ephemerals(SECOND_OPERATOR)  # the bot joined the public channel again
    assert "already approved" in notice["text"]
    assert slack.is_member("#occ-approvals")


async def test_a_refusal_in_a_private_channel_the_bot_left_arrives_by_direct_message(
    sqlite_url, slack, chatwoot, clock, scenarios
):
    slack.add_channel("occ-approvals", "C0PRIVATE01", private=True, bot_member=True)
    bot = await BotUnderTest(settings_for(sqlite_url, slack, chatwoot), clock).start()
    try:
        draft = await bot.posted_draft(scenarios["demo-1-order-status"].payload)
        await bot.click(ActionId.APPROVE, draft, OPERATOR)
        await bot.settle()
        slack.kick("#occ-approvals")  # a private channel: the bot cannot join it again

        await bot.click(ActionId.APPROVE, draft, SECOND_OPERATOR)
        await bot.settle()

        assert slack.ephemerals(SECOND_OPERATOR) == []
        [told] = slack.messages_in(SECOND_OPERATOR)  # the app's DM with them
        assert "already approved" in told["text"]
    finally:
        await bot.stop()
