"""The escalation's private note in Chatwoot is retried like a reply, through the outbox: a
failed note waits and is sent by the `outbox` job, never twice, and gives up only after the
last attempt."""

from __future__ import annotations

from bot.domain import DeliveryStatus
from bot.jobs import JOBS
from bot.store.outbox import note_id
from tests.harness import OPERATOR, BotUnderTest


async def escalate(bot: BotUnderTest, scenarios):
    draft = await bot.posted_draft(scenarios["demo-3-triple-charge"].payload)
    await bot.submit_escalation(
        draft.id, OPERATOR, type="high_value", urgency="urgent", notes="Refund $900, BBB threat"
    )
    await bot.settle()
    return draft, await bot.store.escalation_for_draft(draft.id)


async def noted(bot: BotUnderTest, escalation_id: str) -> list:
    return [
        e
        for e in await bot.store.entries(subject_id=escalation_id)
        if e.action == "escalation.noted"
    ]


async def note_of(bot: BotUnderTest, escalation_id: str):
    return (await bot.store.get_outbox_message(note_id(escalation_id))).delivery


async def run_notes_job(bot: BotUnderTest) -> str:
    said = await JOBS["outbox"].run(bot.services)
    await bot.settle()
    return said


async def test_a_note_chatwoot_refused_while_down_is_added_once_it_is_back(
    bot: BotUnderTest, slack, chatwoot, clock, scenarios
):
    chatwoot.down(503)
    draft, escalation = await escalate(bot, scenarios)
    conversation = draft.input.conversation_id

    assert chatwoot.private_notes(conversation) == []
    note = await note_of(bot, escalation.id)
    assert note.status is DeliveryStatus.FAILED and note.attempts == 1
    assert "chatwoot" in slack.messages_in("#occ-reliability")[0]["text"]
    assert await run_notes_job(bot) == "0 outbox messages tried"  # not due before its backoff

    chatwoot.up()
    clock.advance(seconds=31)
    assert await run_notes_job(bot) == "1 outbox messages tried"
    assert await run_notes_job(bot) == "0 outbox messages tried"

    [note] = chatwoot.private_notes(conversation)
    assert "Refund $900, BBB threat" in note["content"]
    assert f"occ-bot escalation {escalation.id}" in note["content"]
    stored = await note_of(bot, escalation.id)
    assert stored.status is DeliveryStatus.SENT and stored.attempts == 2
    noted = [
        e
        for e in await bot.store.entries(subject_id=escalation.id)
        if e.action == "escalation.noted"
    ]
    assert [e.outcome for e in noted] == ["retry", "success"]


async def test_a_note_that_reached_chatwoot_before_an_error_is_not_added_again(
    bot: BotUnderTest, chatwoot, clock, scenarios
):
    chatwoot.fail_after_commit(1)  # stored, then answered 500
    draft, escalation = await escalate(bot, scenarios)
    clock.advance(seconds=31)

    await run_notes_job(bot)

    assert len(chatwoot.private_notes(draft.input.conversation_id)) == 1
    assert (await note_of(bot, escalation.id)).status is DeliveryStatus.SENT
    assert [(e.outcome, e.payload.get("reconciled")) for e in await noted(bot, escalation.id)] == [
        ("retry", None),
        ("success", True),
    ]


async def test_a_note_gives_up_after_the_last_attempt(
    bot: BotUnderTest, chatwoot, clock, scenarios
):
    chatwoot.down(503)
    draft, escalation = await escalate(bot, scenarios)
    for _ in range(8):
        clock.advance(minutes=16)
        await run_notes_job(bot)

    stored = await note_of(bot, escalation.id)
    assert stored.status is DeliveryStatus.GAVE_UP and stored.attempts == 8
    assert chatwoot.private_notes(draft.input.conversation_id) == []
    outcomes = [
        e.outcome
        for e in await bot.store.entries(subject_id=escalation.id)
        if e.action == "escalation.noted"
    ]
    assert outcomes == ["retry"] * 7 + ["failed"]
