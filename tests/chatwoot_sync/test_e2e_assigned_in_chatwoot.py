"""An assignment to a person in Chatwoot shows on the conversation's waiting cards ("Olivia
Operator is on it in Chatwoot") without retiring them; cards posted later show it too. Real
webhook bodies: the Chatwoot stand-in builds ``conversation_updated`` as Chatwoot's
Conversation#webhook_data and WebhookListener do (docs/research/chatwoot_events_issue20.md, 6)."""

from __future__ import annotations

from bot.blocks.ids import ActionId
from bot.domain import DraftState
from tests.chatwoot_sync.test_e2e_done_in_chatwoot import OLIVIA, card_text, customer_wrote
from tests.harness import OPERATOR, BotUnderTest

MORGAN = 9  # another Chatwoot agent (tests/conftest.py AGENTS)
BOTS_OWN = 1  # the token's owner: occ-bot's own agent
ON_IT = "is on it in Chatwoot"


async def assigned_rows(bot: BotUnderTest, draft_id: str) -> list:
    return [e for e in await bot.store.entries(subject_id=draft_id) if e.action == "draft.assigned"]


async def test_an_assignment_to_a_person_shows_on_the_waiting_card_without_retiring_it(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    draft = await customer_wrote(bot, chatwoot, scenarios)
    conversation = draft.input.conversation_id
    assert ON_IT not in card_text(slack, draft)

    response = await bot.chatwoot_event(chatwoot.assigned_event(conversation, OLIVIA))
    await bot.settle()

    assert response.json() == {"assigned_in_chatwoot": conversation}
    card = card_text(slack, draft)
    assert f"Olivia Operator {ON_IT}" in card
    assert ActionId.APPROVE.value in card  # still the team's to decide
    assert (await bot.store.get_draft(draft.id)).state is DraftState.PENDING
    [row] = await assigned_rows(bot, draft.id)
    assert row.actor == "chatwoot" and row.conversation_id == conversation
    assert row.payload["assignee"] == {"id": OLIVIA, "name": "Olivia Operator"}
    assert row.payload["previous"] is None

    await bot.click(ActionId.APPROVE, draft, OPERATOR)
    await bot.settle()
    assert (await bot.store.get_draft(draft.id)).state is DraftState.APPROVED


async def test_an_unassignment_clears_it_and_a_reassignment_names_the_new_person(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    draft = await customer_wrote(bot, chatwoot, scenarios)
    conversation = draft.input.conversation_id

    for agent in (OLIVIA, MORGAN, None):
        await bot.chatwoot_event(chatwoot.assigned_event(conversation, agent))
        await bot.settle()
        if agent == MORGAN:
            assert f"Morgan Patel {ON_IT}" in card_text(slack, draft)

    assert ON_IT not in card_text(slack, draft)
    rows = await assigned_rows(bot, draft.id)
    assert [r.payload["assignee"] and r.payload["assignee"]["id"] for r in rows] == [
        OLIVIA,
        MORGAN,
        None,
    ]
    assert rows[-1].payload["previous"] == {"id": MORGAN, "name": "Morgan Patel"}


async def test_an_assignment_to_the_bots_own_agent_claims_no_person_is_on_it(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    draft = await customer_wrote(bot, chatwoot, scenarios)
    conversation = draft.input.conversation_id

    # Nobody was on it, and occ-bot's own agent is no person: nothing to show or log.
    await bot.chatwoot_event(chatwoot.assigned_event(conversation, BOTS_OWN))
    await bot.settle()
    assert ON_IT not in card_text(slack, draft)
    assert await assigned_rows(bot, draft.id) == []

    await bot.chatwoot_event(chatwoot.assigned_event(conversation, OLIVIA))
    await bot.settle()
    await bot.chatwoot_event(chatwoot.assigned_event(conversation, BOTS_OWN))
    await bot.settle()

    card = card_text(slack, draft)
    assert ON_IT not in card and "OCC Bot" not in card
    last = (await assigned_rows(bot, draft.id))[-1]
    assert last.payload["assignee"] is None and last.payload["chatwoot_agent_id"] == BOTS_OWN


async def test_a_card_posted_later_shows_who_is_on_it(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    payload = scenarios["demo-1-order-status"].payload
    conversation = payload["conversation_id"]
    chatwoot.add_incoming(conversation, payload["customer_message"])
    await bot.chatwoot_event(chatwoot.assigned_event(conversation, MORGAN))
    await bot.settle()

    draft = await bot.posted_draft(payload)

    assert f"Morgan Patel {ON_IT}" in card_text(slack, draft)


async def test_a_late_delivery_of_an_older_assignment_changes_nothing(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    draft = await customer_wrote(bot, chatwoot, scenarios)
    conversation = draft.input.conversation_id
    # Chatwoot sends each webhook from a background job: Morgan's, the older, arrives last.
    to_morgan = chatwoot.assigned_event(conversation, MORGAN)
    to_olivia = chatwoot.assigned_event(conversation, OLIVIA)
    assert to_morgan["updated_at"] < to_olivia["updated_at"]

    for event in (to_olivia, to_morgan, to_olivia):  # and Olivia's again, redelivered
        await bot.chatwoot_event(event)
        await bot.settle()

    assert f"Olivia Operator {ON_IT}" in card_text(slack, draft)
    assert [r.payload["assignee"]["id"] for r in await assigned_rows(bot, draft.id)] == [OLIVIA]


async def test_an_assignment_in_another_chatwoot_account_shows_nothing(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    draft = await customer_wrote(bot, chatwoot, scenarios)
    event = chatwoot.assigned_event(draft.input.conversation_id, OLIVIA)
    event["account"] = {"id": 2, "name": "Another store"}  # same display id, other account

    response = await bot.chatwoot_event(event)
    await bot.settle()

    assert response.json() == {"ignored": "account 2 is not CHATWOOT_ACCOUNT_ID"}
    assert ON_IT not in card_text(slack, draft)
