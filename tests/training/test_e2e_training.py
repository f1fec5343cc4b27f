"""Training mode end to end: `/occ training start` posts the packet as TRAINING cards, each
trainee decides their own with the real buttons and modals, each decision is marked and
explained to them alone, nothing reaches Chatwoot or a manager, and `/occ training report`
scores each trainee against the 80 % bar."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from bot.blocks.ids import ActionId
from bot.domain import DecisionKind, Draft, DraftState, Scope
from bot.jobs import JOBS
from bot.scenarios import training_packet
from tests.harness import (
    MANAGER,
    OPERATOR,
    SECOND_OPERATOR,
    BotUnderTest,
    ask_occ,
    real_slash_command,
)

TRAINEE, SECOND_TRAINEE = OPERATOR, SECOND_OPERATOR
PACKET = training_packet()
EXPECTED = {s.key: (s.expected.decision, s.expected.urgency) for s in PACKET}

# The first trainee's choices: right on 8 of 11. Wrong: Demo 2 approved as drafted (it needed
# an edit), Exercise 3 edited (it needed a rejection), Exercise 6 escalated as High (URGENT).
FIRST_WRONG = {
    "demo-2-wrong-item": ("approve", None),
    "exercise-3-wrong-return-window": ("edit", None),
    "exercise-6-angry-high-value": ("escalate", "high"),
}
# The second trainee: right on 10 of 11 (Demo 3 rejected where it needed a manager).
SECOND_WRONG = {"demo-3-triple-charge": ("reject", None)}


async def ask(bot: BotUnderTest, slack, text: str, user: str) -> str:
    answer = await ask_occ(bot, slack, text, user)
    assert answer["response_type"] == "ephemeral"
    return answer["text"]


async def cards_of(bot: BotUnderTest, trainee: str) -> dict[str, Draft]:
    return {card.training.scenario: card for card in await bot.store.training_cards(trainee)}


async def decide(bot: BotUnderTest, card: Draft, user: str, kind: str, urgency: str | None):
    if kind == "approve":
        response = await bot.click(ActionId.APPROVE, card, user)
    elif kind == "edit":
        text = f"{card.input.draft} (edited in training)"
        response = await bot.submit_edit(card.id, user, text)
    elif kind == "reject":
        response = await bot.submit_reject(card.id, user, "factual_error", "Practice notes.")
    else:
        response = await bot.submit_escalation(
            card.id, user, type="other", urgency=urgency or "normal", notes="Practice notes."
        )
    assert response.status_code == 200
    await bot.settle()


def choice(key: str, wrong: dict[str, tuple[str, str | None]]) -> tuple[str, str | None]:
    if key in wrong:
        return wrong[key]
    decision, urgency = EXPECTED[key]
    return decision.value, urgency.value if urgency else None


async def test_two_trainees_play_the_packet_and_are_scored_separately(
    bot: BotUnderTest, slack, chatwoot, clock
):
    started = await ask(bot, slack, "training start", TRAINEE)
    await ask(bot, slack, "training start", SECOND_TRAINEE)
    await bot.settle()

    assert "training packet (11 cards" in started and "#occ-training" in started
    posted = slack.messages_in("#occ-training")
    assert len(posted) == 22
    firsts = [m for m in posted if f"<@{TRAINEE}>" in json.dumps(m["blocks"])]
    assert [m["text"].startswith("TRAINING: ") for m in firsts] == [True] * 11
    assert "TRAINING" in firsts[0]["blocks"][0]["text"]["text"]
    for message, scenario in zip(firsts, PACKET, strict=True):  # in packet order
        assert scenario.draft.customer.name in message["text"]
    assert slack.messages_in("#occ-approvals") == []
    demo_2 = json.dumps(firsts[1]["blocks"])
    assert "Demo 2" in demo_2 and "edit before approval" not in demo_2  # no hint at the answer

    first_cards, second_cards = await cards_of(bot, TRAINEE), await cards_of(bot, SECOND_TRAINEE)
    assert set(first_cards) == {s.key for s in PACKET}

    # Someone else's card is refused, and changes nothing.
    await bot.click(ActionId.APPROVE, first_cards["demo-1-order-status"], SECOND_TRAINEE)
    await bot.settle()
    assert "training card is <@U0OPERATOR1>'s" in slack.ephemerals(SECOND_TRAINEE)[-1]["text"]
    assert (await bot.store.get_draft(first_cards["demo-1-order-status"].id)).state is (
        DraftState.PENDING
    )

    # The two play at the same time, card by card.
    for scenario in PACKET:
        clock.advance(seconds=40)
        for trainee, cards, wrong in (
            (TRAINEE, first_cards, FIRST_WRONG),
            (SECOND_TRAINEE, second_cards, SECOND_WRONG),
        ):
            kind, urgency = choice(scenario.key, wrong)
            await decide(bot, cards[scenario.key], trainee, kind, urgency)
            explained = slack.ephemerals(trainee)[-1]["text"]
            assert scenario.title in explained
            for check in ("Accuracy", "Completeness", "Tone", "Clarity", "Risk"):
                assert f"*{check}:*" in explained
            if scenario.key in wrong:
                assert "Not this time" in explained
            else:
                assert "*Right:*" in explained

    last = slack.ephemerals(TRAINEE)[-1]["text"]
    assert "*8 of 11 right*" in last and "not yet certified" in last
    assert "*10 of 11 right*" in slack.ephemerals(SECOND_TRAINEE)[-1]["text"]

    # Nothing reached a customer or a manager.
    for scenario in PACKET:
        conversation = scenario.draft.conversation_id
        assert chatwoot.sent_replies(conversation) == []
        assert chatwoot.private_notes(conversation) == []
    assert slack.messages_in("#occ-escalations") == []
    escalated = first_cards["demo-3-triple-charge"]
    assert await bot.store.escalation_for_draft(escalated.id) is None
    stored = await bot.store.get_draft(escalated.id)
    assert stored.state is DraftState.ESCALATED and stored.decision.kind is DecisionKind.ESCALATE
    message = slack.message(stored.card.channel, stored.card.ts)
    assert "Escalated" in json.dumps(message["blocks"]) and "Approve" not in json.dumps(message)
    assert message["text"].endswith("escalated (training: no manager told)")

    # Every row is scope training; the team's numbers count none of it.
    for cards in (first_cards, second_cards):
        for draft in cards.values():
            rows = await bot.store.entries(subject_id=draft.id)
            assert {row.scope for row in rows} == {Scope.TRAINING}
    now = clock()
    team = await bot.store.decision_stats(since=now - timedelta(days=1), until=now)
    assert team.decisions == 0

    mine = await ask(bot, slack, "training report", TRAINEE)
    assert f"<@{TRAINEE}>: *8 of 11 right* (72 %)" in mine and "not yet certified" in mine
    assert "Demo 2: Wrong item" in mine and "chose Approve, expected Edit" in mine
    assert "chose Edit, expected Reject" in mine
    assert "chose Escalate (High), expected Escalate (Urgent)" in mine
    assert f"<@{SECOND_TRAINEE}>" not in mine

    everyone = await ask(bot, slack, "training report", MANAGER)
    assert f"<@{TRAINEE}>: *8 of 11 right*" in everyone
    assert f"<@{SECOND_TRAINEE}>: *10 of 11 right* (90 %) ✅ *certified*" in everyone
    assert "chose Reject, expected Escalate (Urgent)" in everyone


async def test_a_second_start_waits_for_the_open_round_then_starts_a_new_one(
    bot: BotUnderTest, slack
):
    await ask(bot, slack, "training start", TRAINEE)
    await bot.settle()
    again = await ask(bot, slack, "training start", TRAINEE)
    await bot.settle()

    assert "Still deciding an earlier round" in again and "(11 left)" in again
    assert "posted again" not in again  # they are all in the channel
    assert len(slack.messages_in("#occ-training")) == 11

    for card in (await cards_of(bot, TRAINEE)).values():
        await bot.click(ActionId.APPROVE, card, TRAINEE)
    await bot.settle()
    await ask(bot, slack, "training start", TRAINEE)
    await bot.settle()

    assert len(slack.messages_in("#occ-training")) == 22
    report = await ask(bot, slack, "training report", TRAINEE)
    assert "*0 of 11 right* (0 %) so far, 11 cards left" in report
    assert "Earlier rounds: 3/11." in report  # all approved: the three approve-or-defensible


async def test_a_manager_starts_a_cohort_and_only_managers_name_others(bot: BotUnderTest, slack):
    refused = await ask(bot, slack, f"training start <@{SECOND_TRAINEE}>", TRAINEE)
    cohort = await ask(
        bot, slack, f"training start <@{TRAINEE}|ana> <@{SECOND_TRAINEE}|bo>", MANAGER
    )
    await bot.settle()

    assert "Only managers can start training for someone else" in refused
    assert f"<@{TRAINEE}>, <@{SECOND_TRAINEE}>" in cohort
    # The cohort's cards go out one at a time: the first trainee's packet, then the second's.
    names = [scenario.draft.customer.name for scenario in PACKET]
    posted = slack.messages_in("#occ-training")
    assert [name for m in posted for name in names if name in m["text"]] == names + names
    owners = [TRAINEE if f"<@{TRAINEE}>" in json.dumps(m["blocks"]) else "" for m in posted]
    assert owners == [TRAINEE] * 11 + [""] * 11
    assert len(await bot.store.training_cards(TRAINEE)) == 11
    assert len(await bot.store.training_cards(SECOND_TRAINEE)) == 11
    assert await bot.store.training_cards(MANAGER) == []
    peek = await ask(bot, slack, f"training report <@{SECOND_TRAINEE}>", TRAINEE)
    assert "Only managers can see someone else's training" in peek


async def test_bad_training_arguments_say_what_they_take(bot: BotUnderTest, slack):
    bare = await ask(bot, slack, "training", TRAINEE)
    unknown = await ask(bot, slack, "training begin", TRAINEE)
    nobody = await ask(bot, slack, "training start everyone", MANAGER)

    assert bare.startswith("Usage: `/occ training start")
    assert "`/occ training` has no `begin`" in unknown
    assert "`everyone` is no person" in nobody
    assert slack.messages_in("#occ-training") == []


async def test_a_trainee_outside_the_channel_gets_the_explanation_by_direct_message(
    bot: BotUnderTest, slack
):
    await ask(bot, slack, "training start", TRAINEE)
    await bot.settle()
    card = (await cards_of(bot, TRAINEE))["demo-1-order-status"]

    # Slack shows no ephemeral message to someone previewing a channel they have not joined.
    slack.fail_next("chat.postEphemeral", "user_not_in_channel")
    await bot.click(ActionId.APPROVE, card, TRAINEE)
    await bot.settle()

    [direct] = slack.messages_in(TRAINEE)
    assert "✅ *Right:* you chose *Approve*" in direct["text"]


async def test_cards_slack_refused_until_parked_go_out_when_the_trainee_starts_again(
    bot: BotUnderTest, slack, clock
):
    slack.refuse_posts("#occ-training")  # the bot is not in the (private) channel yet
    await ask(bot, slack, "training start", TRAINEE)
    await bot.settle()
    for _ in range(2):  # two more refusals each, and the cards are parked
        clock.advance(minutes=6)
        await JOBS["reposts"].run(bot.services)
        await bot.settle()
    clock.advance(minutes=6)
    await JOBS["reposts"].run(bot.services)  # parked: not offered again on their own
    assert slack.messages_in("#occ-training") == []
    [alert] = slack.messages_in("#occ-reliability")
    assert "OCC_TRAINING_CHANNEL" in alert["text"]

    slack.refuse_posts("#occ-training", None)  # the bot is invited
    again = await ask(bot, slack, "training start", TRAINEE)
    await bot.settle()

    assert "(11 left)" in again and "being posted again" in again
    posted = slack.messages_in("#occ-training")
    names = [scenario.draft.customer.name for scenario in PACKET]
    assert [name for m in posted for name in names if name in m["text"]] == names


async def test_two_starts_at_the_same_moment_post_one_round(bot: BotUnderTest, slack):
    bodies = [
        real_slash_command(
            user=TRAINEE,
            command="/occ",
            text="training start",
            channel="C0APPROVALS",
            response_url=slack.response_url(f"start-{n}"),
        )
        for n in range(2)
    ]
    sent = await asyncio.gather(*(bot.slack.send(body) for body in bodies))
    await bot.settle()

    assert [response.status_code for response in sent] == [200, 200]
    assert len(await bot.store.training_cards(TRAINEE)) == 11
    assert len(slack.messages_in("#occ-training")) == 11
    answers = sorted(call.args["text"] for call in slack.calls("response_url"))
    assert answers[0].startswith("Still deciding an earlier round")
    assert answers[1].startswith("🎓 Posting the training packet")
