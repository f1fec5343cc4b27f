"""A coaching note Slack does not take is not lost: the verdict is stored at once, every
manager's card says the note is on its way, and the `reposts` job sends it once Slack takes
it. A Coach click on a reply that already has its verdict opens no form."""

from __future__ import annotations

from bot.blocks.ids import ActionId, CallbackId, InputId
from bot.jobs import JOBS
from tests.harness import MANAGER, OPERATOR, ask_occ, text_value
from tests.qa_review.conftest import SECOND_MANAGER
from tests.qa_review.test_e2e_review_round import (
    NOTE,
    REVIEW_DAY,
    click_card,
    dm_cards,
    last_week_replies,
    shown,
)


async def test_a_note_slack_refuses_is_sent_later_and_the_verdict_kept(
    qa_bot, slack, clock, scenarios
):
    bot = qa_bot
    replies = await last_week_replies(bot, clock, scenarios)
    clock.now = REVIEW_DAY
    await ask_occ(bot, slack, "review", user=MANAGER)
    low = replies["olivia low"].id
    [card] = [card for card, draft_id in dm_cards(slack, MANAGER) if draft_id == low]

    slack.fail_next("chat.postMessage", "internal_error")  # the note's DM
    await bot.submit(CallbackId.QA_COACH, low, MANAGER, text_value(InputId.QA_NOTE, NOTE))
    await bot.settle()

    review = await bot.store.qa_review(low)
    assert review is not None and review.note == NOTE and review.note_message is None
    assert [m for m in slack.messages_in(OPERATOR) if "coaching note" in m["text"]] == []
    waiting = shown(slack.message(slack.channel_id(MANAGER), card["ts"]))
    assert "🗣️ *Coached*" in waiting and f"⏳ The note is on its way to <@{OPERATOR}>" in waiting
    attempts = [e.outcome for e in await bot.store.entries(subject_id=low)]
    assert "retry" in attempts and attempts.count("success") >= 2  # received, decided, reviewed

    clock.advance(minutes=6)  # the failed attempt's lease has run out
    await JOBS["reposts"].run(bot.services)
    await bot.settle()

    [note] = [m for m in slack.messages_in(OPERATOR) if "coaching note" in m["text"]]
    assert NOTE in shown(note)
    arrived = shown(slack.message(slack.channel_id(MANAGER), card["ts"]))
    assert f"📨 The note reached <@{OPERATOR}> by direct message." in arrived
    rows = await bot.store.entries(subject_id=low)
    assert [e.outcome for e in rows if e.action == "qa.note_sent"] == ["retry", "success"]
    await JOBS["reposts"].run(bot.services)  # nothing left to send: no second DM
    await bot.settle()
    assert len([m for m in slack.messages_in(OPERATOR) if "coaching note" in m["text"]]) == 1


async def test_coach_on_a_reviewed_reply_opens_no_form_and_says_who_reviewed_it(
    qa_bot, slack, clock, scenarios
):
    bot = qa_bot
    replies = await last_week_replies(bot, clock, scenarios)
    clock.now = REVIEW_DAY
    await ask_occ(bot, slack, "review", user=MANAGER)
    await ask_occ(bot, slack, "review", user=SECOND_MANAGER)
    target = replies["oscar high"].id
    [mine] = [card for card, draft_id in dm_cards(slack, MANAGER) if draft_id == target]
    [theirs] = [card for card, draft_id in dm_cards(slack, SECOND_MANAGER) if draft_id == target]
    await click_card(bot, slack, ActionId.QA_GOOD, mine, target, MANAGER)
    await bot.settle()
    opened = len(slack.calls("views.open"))

    await click_card(bot, slack, ActionId.QA_COACH, theirs, target, SECOND_MANAGER)
    await bot.settle()

    assert len(slack.calls("views.open")) == opened
    [told] = slack.ephemerals(SECOND_MANAGER)
    assert told["text"].startswith(f"Already reviewed by <@{MANAGER}> (Good)")
    assert (await bot.store.qa_review(target)).reviewer == MANAGER
