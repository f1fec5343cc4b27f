"""QA review end to end: a manager's `/occ review` puts last week's sample of each operator's
sent replies in their DM (edited and low-confidence first, `OCC_QA_SAMPLE_SIZE` each), they
mark one Good and coach another, and the note reaches the operator by DM; one verdict per
reply however many managers click; and the decision-quality figure in `/occ stats`, the Home
tab and the digest, with the digest's calibration beside the documents' pilot figures.

Everything goes through the running app: real slash commands, button clicks on the cards the
bot posted and the Coach modal's submission, as Slack sends them."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from bot.blocks.ids import ActionId, CallbackId, InputId
from bot.demo.standins.slack import SlackStandin
from bot.domain import Draft
from bot.jobs import JOBS
from tests.harness import (
    MANAGER,
    OPERATOR,
    SECOND_OPERATOR,
    BotUnderTest,
    ask_occ,
    real_block_action,
    text_value,
)
from tests.qa_review.conftest import SECOND_MANAGER

LAST_WEEK = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Monday: the replies are sent that week
REVIEW_DAY = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # the Wednesday after
NOTE = "Check the order date before quoting the return window."


async def sent_reply(
    bot: BotUnderTest, clock, scenarios, n: int, operator: str, confidence: float, how: str
) -> Draft:
    """A customer's draft at ``confidence``, decided by ``operator``: approved as drafted,
    edited, or rejected."""
    payload = scenarios["demo-1-order-status"].payload | {
        "conversation_id": 700 + n,
        "external_id": f"qa-{n}",
        "confidence": confidence,
    }
    draft = await bot.posted_draft(payload)
    clock.advance(minutes=1)
    if how == "approve":
        await bot.click(ActionId.APPROVE, draft, operator)
    elif how == "edit":
        await bot.submit_edit(draft.id, operator, f"Hi Susan! Edited reply number {n}.")
    else:
        await bot.submit_reject(draft.id, operator, "factual_error", "Wrong order")
    await bot.settle()
    clock.advance(hours=2)
    return draft


async def last_week_replies(bot: BotUnderTest, clock, scenarios) -> dict[str, Draft]:
    """Olivia: 5 decisions (4 sent); Oscar: 2 sent; Morgan the manager: 1 sent."""
    clock.now = LAST_WEEK
    plan = {
        "olivia high": (OPERATOR, 0.95, "approve"),
        "olivia high edited": (OPERATOR, 0.92, "edit"),
        "olivia medium": (OPERATOR, 0.80, "approve"),
        "olivia low": (OPERATOR, 0.60, "approve"),
        "olivia low rejected": (OPERATOR, 0.55, "reject"),
        "oscar medium edited": (SECOND_OPERATOR, 0.75, "edit"),
        "oscar high": (SECOND_OPERATOR, 0.97, "approve"),
        "morgan's own": (MANAGER, 0.96, "approve"),
    }
    return {
        name: await sent_reply(bot, clock, scenarios, n, *facts)
        for n, (name, facts) in enumerate(plan.items())
    }


def dm_cards(slack: SlackStandin, user: str) -> list[tuple[dict[str, Any], str]]:
    """The review cards in the bot's DM with ``user``, oldest first, each with the reply it is
    about (the value its buttons carry, or, once reviewed, what the store recorded)."""
    cards = []
    for message in slack.messages_in(user):
        if not message.get("text", "").startswith("QA review"):
            continue
        buttons = [b for b in message.get("blocks", []) if b["type"] == "actions"]
        cards.append((message, buttons[0]["elements"][0]["value"] if buttons else ""))
    return cards


def shown(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False)


async def click_card(
    bot: BotUnderTest,
    slack: SlackStandin,
    action: ActionId,
    card: dict,
    draft_id: str,
    user: str,
    *,
    in_dm_of: str | None = None,
):
    """``user`` clicks a button on a review card in the bot's DM with ``in_dm_of`` (theirs)."""
    payload = real_block_action(
        user=user,
        action_id=action.value,
        value=draft_id,
        channel=slack.channel_id(in_dm_of or user),
        message_ts=card["ts"],
    )
    response = await bot.slack.send(payload)
    assert response.status_code == 200, response.text
    return response


async def test_a_review_round_with_a_coaching_dm(qa_bot: BotUnderTest, slack, clock, scenarios):
    bot = qa_bot
    replies = await last_week_replies(bot, clock, scenarios)
    clock.now = REVIEW_DAY

    answer = await ask_occ(bot, slack, "review", user=MANAGER)

    text = answer["text"]
    assert answer["response_type"] == "ephemeral"
    assert text.startswith("*QA review of last week* (Mon Nov 23 to Sun Nov 29)")
    assert f"<@{OPERATOR}>: 2 of 4 replies sampled, *2 to review*" in text
    assert f"<@{SECOND_OPERATOR}>: 2 of 2 replies sampled, *2 to review*" in text
    assert "Your own reply last week is left to another manager." in text
    assert "Sending you 4 cards by direct message" in text
    cards = dm_cards(slack, MANAGER)
    # Each operator's edited reply first, then the low-confidence one; the manager's own and
    # the rejected draft are not among them.
    assert [draft_id for _, draft_id in cards] == [
        replies["olivia high edited"].id,
        replies["olivia low"].id,
        replies["oscar medium edited"].id,
        replies["oscar high"].id,
    ]
    first, edited_id = cards[0]
    assert "Hi Susan! Edited reply number 1." in shown(first)  # what was sent
    assert replies["olivia high edited"].input.draft[:40] in shown(first)  # the AI's draft
    assert replies["olivia high edited"].input.customer_message[:40] in shown(first)
    assert f"<@{OPERATOR}>" in shown(first) and "👍 Good" in shown(first)

    # Good on the edited reply: the card shows the verdict instead of the buttons.
    await click_card(bot, slack, ActionId.QA_GOOD, first, edited_id, MANAGER)
    await bot.settle()
    good_card = slack.message(slack.channel_id(MANAGER), first["ts"])
    assert f"👍 *Good*, by <@{MANAGER}>" in shown(good_card)
    assert not [b for b in good_card["blocks"] if b["type"] == "actions"]

    # Coach on the low-confidence one: a modal for the note, then the note by DM.
    second, low_id = cards[1]
    await click_card(bot, slack, ActionId.QA_COACH, second, low_id, MANAGER)
    await bot.settle()
    modal = slack.last("views.open").args["view"]
    modal = json.loads(modal) if isinstance(modal, str) else modal
    assert modal["callback_id"] == CallbackId.QA_COACH.value and modal["private_metadata"] == low_id
    response = await bot.submit(
        CallbackId.QA_COACH, low_id, MANAGER, text_value(InputId.QA_NOTE, NOTE)
    )
    assert response.status_code == 200 and response.text == ""
    await bot.settle()

    [note] = [m for m in slack.messages_in(OPERATOR) if "coaching note" in m["text"]]
    assert NOTE in shown(note) and f"<@{MANAGER}>" in note["text"]
    assert replies["olivia low"].input.customer_message[:40] in shown(note)
    coached_card = slack.message(slack.channel_id(MANAGER), second["ts"])
    assert f"🗣️ *Coached* by <@{MANAGER}>" in shown(coached_card) and NOTE in shown(coached_card)
    assert f"📨 The note reached <@{OPERATOR}> by direct message." in shown(coached_card)

    rows = [e for e in await bot.store.entries() if e.action == "qa.reviewed"]
    assert [(e.subject_id, e.actor, e.payload["verdict"], e.payload["note"]) for e in rows] == [
        (edited_id, MANAGER, "good", None),
        (low_id, MANAGER, "coach", NOTE),
    ]
    assert {e.payload["operator"] for e in rows} == {OPERATOR}
    assert [e.outcome for e in await bot.store.entries() if e.action == "qa.note_sent"] == [
        "success"
    ]

    # Asking again posts nothing new: two wait, two have their verdict.
    posted = len(slack.calls("chat.postMessage"))
    again = (await ask_occ(bot, slack, "review", user=MANAGER))["text"]
    await bot.settle()
    assert f"<@{OPERATOR}>: 2 of 4 replies sampled, *0 to review* (1 Good, 1 coached" in again
    assert "2 cards sent earlier still wait in our direct message." in again
    assert len(slack.calls("chat.postMessage")) == posted


async def test_one_verdict_per_reply_however_many_managers_click(
    qa_bot: BotUnderTest, slack, clock, scenarios
):
    bot = qa_bot
    replies = await last_week_replies(bot, clock, scenarios)
    clock.now = REVIEW_DAY
    await ask_occ(bot, slack, "review", user=MANAGER)
    await ask_occ(bot, slack, "review", user=SECOND_MANAGER)
    target = replies["oscar high"].id
    [mine] = [card for card, draft_id in dm_cards(slack, MANAGER) if draft_id == target]
    [theirs] = [card for card, draft_id in dm_cards(slack, SECOND_MANAGER) if draft_id == target]

    await asyncio.gather(
        click_card(bot, slack, ActionId.QA_GOOD, mine, target, MANAGER),
        click_card(bot, slack, ActionId.QA_GOOD, theirs, target, SECOND_MANAGER),
    )
    await bot.settle()

    reviewed = [e for e in await bot.store.entries(subject_id=target) if e.action == "qa.reviewed"]
    assert len(reviewed) == 1
    winner = reviewed[0].actor
    loser = SECOND_MANAGER if winner == MANAGER else MANAGER
    refused = [e for e in await bot.store.entries(subject_id=target) if e.action == "qa.refused"]
    assert {e.actor for e in refused} == {loser} and {e.outcome for e in refused} == {"refused"}
    [told] = [e["text"] for e in slack.ephemerals(loser)]
    assert told.startswith(f"Already reviewed by <@{winner}> (Good)")
    assert slack.ephemerals(winner) == []
    # Both managers' cards show the one verdict, without buttons.
    for user, card in ((MANAGER, mine), (SECOND_MANAGER, theirs)):
        now = slack.message(slack.channel_id(user), card["ts"])
        assert f"👍 *Good*, by <@{winner}>" in shown(now), user
        assert not [b for b in now["blocks"] if b["type"] == "actions"]


async def test_a_managers_own_reply_is_left_to_another_manager(
    qa_bot: BotUnderTest, slack, clock, scenarios
):
    bot = qa_bot
    replies = await last_week_replies(bot, clock, scenarios)
    clock.now = REVIEW_DAY
    own = replies["morgan's own"].id

    answer = (await ask_occ(bot, slack, "review", user=SECOND_MANAGER))["text"]
    await bot.settle()
    [card] = [card for card, draft_id in dm_cards(slack, SECOND_MANAGER) if draft_id == own]
    assert f"<@{MANAGER}>: 1 of 1 reply sampled, *1 to review*" in answer

    # Morgan cannot mark it (a click reaching the bot for it is refused, privately).
    await click_card(bot, slack, ActionId.QA_GOOD, card, own, MANAGER, in_dm_of=SECOND_MANAGER)
    await bot.settle()
    assert await bot.store.qa_review(own) is None
    # Told privately: by DM, as Slack shows no ephemeral in another person's DM with the bot.
    said = slack.messages_in(MANAGER)[-1]["text"]
    assert said == "That reply is your own: another manager reviews it."
    await click_card(bot, slack, ActionId.QA_GOOD, card, own, SECOND_MANAGER)
    await bot.settle()
    assert (await bot.store.qa_review(own)).reviewer == SECOND_MANAGER


async def test_the_decision_quality_figure_in_stats_the_home_tab_and_the_digest(
    qa_bot: BotUnderTest, slack, clock, scenarios
):
    bot = qa_bot
    replies = await last_week_replies(bot, clock, scenarios)
    # The digest of last week, before any review: the calibration of its decisions by band.
    clock.now = datetime(2026, 11, 30, 9, 5, tzinfo=UTC)
    assert await JOBS["digest"].run(bot.services) == "posted"
    await bot.settle()
    [digest] = [m for m in slack.messages_in("#occ-approvals") if "Weekly digest" in m["text"]]
    # High: approved, edited, approved, Morgan's approved (4); Medium: approved, edited (2);
    # Low: approved, rejected (2).
    assert (
        "• 🟢 High: 4 decisions, *75% approved as-is*, 100% sent as-is or edited · pilot ~95 % "
        "approved as-is or with minor edits"
    ) in digest["text"]
    assert (
        "• 🟡 Medium: 2 decisions, *50% approved as-is*, 100% sent as-is or edited · pilot ~75 % "
        "approved after editing"
    ) in digest["text"]
    assert (
        "• 🔴 Low: 2 decisions, *50% approved as-is*, 50% sent as-is or edited · pilot ~40 % "
        "approved"
    ) in digest["text"]
    assert "• no replies reviewed: `/occ review`" in digest["text"]

    # The round: Olivia's two sampled replies Good and Coach, Oscar's two Good.
    clock.now = REVIEW_DAY
    await ask_occ(bot, slack, "review", user=MANAGER)
    cards = dict((draft_id, card) for card, draft_id in dm_cards(slack, MANAGER))
    for name in ("olivia high edited", "oscar medium edited", "oscar high"):
        draft_id = replies[name].id
        await click_card(bot, slack, ActionId.QA_GOOD, cards[draft_id], draft_id, MANAGER)
    low = replies["olivia low"].id
    await bot.submit(CallbackId.QA_COACH, low, MANAGER, text_value(InputId.QA_NOTE, NOTE))
    await bot.settle()

    stats = (await ask_occ(bot, slack, f"stats week <@{OPERATOR}>", user=MANAGER))["text"]
    mine, team = stats.split("*The team this week:*")
    assert "• decision quality: 1 of 2 reviewed replies Good (50%) :x: (bar 80 %)" in mine
    assert "• decision quality: 3 of 4 reviewed replies Good (75%) :x: (bar 80 %)" in team
    oscar = (await ask_occ(bot, slack, "stats week", user=SECOND_OPERATOR))["text"]
    assert "• decision quality: 2 of 2 reviewed replies Good (100%) :white_check_mark:" in oscar

    # Olivia's Home tab was redrawn with her decision quality this week.
    homes = [c.args for c in slack.calls("views.publish") if c.args["user_id"] == OPERATOR]
    view = homes[-1]["view"]
    home = json.dumps(json.loads(view) if isinstance(view, str) else view, ensure_ascii=False)
    assert "decision quality: 1 of 2 reviewed replies Good (50%)" in home

    # The next digest: each operator's decision quality in the week of the reviews.
    clock.now = datetime(2026, 12, 7, 9, 5, tzinfo=UTC)
    assert await JOBS["digest"].run(bot.services) == "posted"
    await bot.settle()
    digest = [m for m in slack.messages_in("#occ-approvals") if "Weekly digest" in m["text"]][-1]
    assert "the week of Nov 30" in digest["text"]
    assert f"• <@{OPERATOR}>: 1 of 2 reviewed replies Good (50%) :x: (bar 80 %)" in digest["text"]
    assert (
        f"• <@{SECOND_OPERATOR}>: 2 of 2 reviewed replies Good (100%) :white_check_mark:"
        in digest["text"]
    )
    assert "• decision quality: 3 of 4 reviewed replies Good (75%)" in digest["text"]


async def test_review_can_be_limited_to_the_people_named(
    qa_bot: BotUnderTest, slack, clock, scenarios
):
    bot = qa_bot
    replies = await last_week_replies(bot, clock, scenarios)
    clock.now = REVIEW_DAY

    named = (await ask_occ(bot, slack, f"review <@{SECOND_OPERATOR}>", user=MANAGER))["text"]
    nobody = (await ask_occ(bot, slack, f"review <@{SECOND_MANAGER}>", user=MANAGER))["text"]
    wrong = (await ask_occ(bot, slack, "review everyone", user=MANAGER))["text"]

    assert f"<@{SECOND_OPERATOR}>: 2 of 2 replies sampled" in named and OPERATOR not in named
    assert [draft_id for _, draft_id in dm_cards(slack, MANAGER)] == [
        replies["oscar medium edited"].id,
        replies["oscar high"].id,
    ]
    assert "Nothing to review: the people named sent no reply last week." in nobody
    assert wrong.startswith("`everyone` is no person.") and "Usage: `/occ review" in wrong
