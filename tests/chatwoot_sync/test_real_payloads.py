"""Chatwoot's real webhook bodies for the work done in Chatwoot, sent through the bot end to
end: an agent's reply, the bot's own reply as Chatwoot reports it, a resolution, a status
change back to open and an update that assigns nobody (tests/fixtures/real/README.md says
where each came from). Only their ids are moved onto the seeded conversation and card;
nothing else in a capture is changed. Then the Chatwoot stand-in's builders are held to the
same structure as these captures, for every field the bot reads."""

from __future__ import annotations

from typing import Any

import pytest

from bot.blocks.ids import ActionId
from bot.domain import DraftState, RetiredBecause
from tests.chatwoot_sync.test_e2e_done_in_chatwoot import OLIVIA, card_text, customer_wrote
from tests.harness import OPERATOR, BotUnderTest, real_fixture

AGENT_REPLY = "chatwoot_webhook_message_created_outgoing_agent_waha_docs.json"
RESOLVED = "chatwoot_webhook_conversation_resolved_chatwoot_docs_2021.json"
STATUS_CHANGED = "chatwoot_webhook_conversation_status_changed.json"
UPDATED = "chatwoot_webhook_conversation_updated_changed_attributes.json"
BOTS_OWN = 1  # the agent whose token occ-bot sends with (tests/conftest.py AGENTS)


def reply_in(conversation: int, *, message_id: int, agent: int) -> dict[str, Any]:
    """The captured agent reply, as if it were in `conversation`: its conversation id, its
    message id and its agent's id moved there (the one listed message with them)."""
    payload = real_fixture(AGENT_REPLY)
    listed = payload["conversation"]["messages"][0]
    payload["id"] = listed["id"] = message_id
    payload["conversation"]["id"] = listed["conversation_id"] = conversation
    payload["sender"]["id"] = listed["sender_id"] = listed["sender"]["id"] = agent
    return payload


def conversation_event(name: str, conversation: int) -> dict[str, Any]:
    """A captured conversation webhook, as if about `conversation` (its display id)."""
    payload = real_fixture(name)
    payload["id"] = conversation
    for listed in payload["messages"]:
        listed["conversation_id"] = conversation
    return payload


async def retired_rows(bot: BotUnderTest, draft_id: str) -> list:
    return [e for e in await bot.store.entries(subject_id=draft_id) if e.action == "draft.retired"]


async def test_an_agents_reply_as_chatwoot_sent_it_retires_the_card(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    draft = await customer_wrote(bot, chatwoot, scenarios)
    conversation = draft.input.conversation_id

    response = await bot.chatwoot_event(reply_in(conversation, message_id=222, agent=OLIVIA))
    await bot.settle()

    assert response.json() == {"done_in_chatwoot": conversation}
    done = await bot.store.get_draft(draft.id)
    assert done.state is DraftState.RETIRED and done.retired.because is RetiredBecause.ANSWERED
    card = card_text(slack, done)
    assert "Answered in Chatwoot* by Agent Smith" in card  # the name Chatwoot sent
    assert ActionId.APPROVE.value not in card
    [row] = await retired_rows(bot, draft.id)
    assert row.payload["agent"] == {"id": OLIVIA, "name": "Agent Smith"}
    assert row.payload["message_id"] == 222


async def test_the_bots_own_reply_as_chatwoot_reports_it_retires_nothing(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    first = await customer_wrote(bot, chatwoot, scenarios)
    await bot.click(ActionId.APPROVE, first, OPERATOR)
    await bot.settle()
    conversation = first.input.conversation_id
    [sent] = chatwoot.sent_replies(conversation)
    waiting = await bot.posted_draft(
        scenarios["demo-1-order-status"].payload | {"external_id": "second-question"}
    )

    # The capture's sender is already agent 1, occ-bot's own; its message id becomes the one
    # Chatwoot gave the bot's reply. Its text is not the bot's: the id alone tells.
    own = reply_in(conversation, message_id=sent["id"], agent=BOTS_OWN)
    response = await bot.chatwoot_event(own)
    await bot.settle()

    assert response.json() == {"done_in_chatwoot": conversation}  # looked at, found ours
    assert (await bot.store.get_draft(waiting.id)).state is DraftState.PENDING
    assert await retired_rows(bot, waiting.id) == []
    assert ActionId.APPROVE.value in card_text(slack, waiting)


async def test_a_conversation_resolved_as_chatwoots_own_sample_retires_its_card(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    draft = await customer_wrote(bot, chatwoot, scenarios)
    conversation = draft.input.conversation_id
    resolved = conversation_event(RESOLVED, conversation)
    assert resolved["status"] == "open"  # read again when it was sent: the event says resolved

    response = await bot.chatwoot_event(resolved)
    await bot.settle()

    assert response.json() == {"done_in_chatwoot": conversation}
    done = await bot.store.get_draft(draft.id)
    assert done.retired is not None and done.retired.because is RetiredBecause.RESOLVED
    card = card_text(slack, done)
    assert "Resolved in Chatwoot*" in card and ActionId.APPROVE.value not in card
    [row] = await retired_rows(bot, draft.id)
    assert row.payload["because"] == "resolved" and row.actor == "chatwoot"


async def test_a_real_status_change_back_to_open_retires_nothing(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    draft = await customer_wrote(bot, chatwoot, scenarios)
    conversation = draft.input.conversation_id

    response = await bot.chatwoot_event(conversation_event(STATUS_CHANGED, conversation))
    await bot.settle()

    assert response.json() == {"ignored": "not an incoming customer message"}
    assert (await bot.store.get_draft(draft.id)).state is DraftState.PENDING
    assert ActionId.APPROVE.value in card_text(slack, draft)
    assert await retired_rows(bot, draft.id) == []


async def test_a_real_update_that_assigns_nobody_shows_nobody_on_it(
    bot: BotUnderTest, slack, chatwoot, scenarios
):
    draft = await customer_wrote(bot, chatwoot, scenarios)
    before = card_text(slack, draft)

    response = await bot.chatwoot_event(conversation_event(UPDATED, draft.input.conversation_id))
    await bot.settle()

    assert response.json() == {"ignored": "not an incoming customer message"}
    assert card_text(slack, draft) == before  # no "… is on it in Chatwoot"
    assert "draft.assigned" not in await bot.actions(draft.id)


# The stand-in's webhooks, held to the captures' structure ---------------------------------

# Every field the bot reads in each event (bot/integrations/chatwoot_webhook.py): "[]" is
# each item of a list.
MESSAGE_FIELDS = [
    "event",
    "id",
    "content",
    "content_attributes",
    "created_at",
    "message_type",
    "private",
    "account.id",
    "sender.id",
    "sender.name",
    "sender.type",
    "conversation.id",
    "conversation.channel",
    "conversation.contact_inbox.hmac_verified",
    "conversation.meta.hmac_verified",
    "conversation.meta.sender.name",
    "conversation.meta.sender.email",
    "conversation.messages[].id",
    "conversation.messages[].account_id",
    "conversation.messages[].created_at",
    "conversation.messages[].sender_type",
    "conversation.messages[].status",
]
CONVERSATION_FIELDS = [
    "event",
    "id",
    "status",
    "updated_at",
    "account.id",
    "messages[].account_id",
    "meta.assignee",
    "changed_attributes",
    "changed_attributes[].assignee_id.current_value",
]


def types_at(payload: Any, fields: list[str]) -> dict[str, set[str]]:
    """The JSON types found at each field a payload has (fields it lacks are left out)."""
    found: dict[str, set[str]] = {}
    for field in fields:
        nodes = [payload]
        for part in field.split("."):
            name, each = part.removesuffix("[]"), part.endswith("[]")
            nodes = [n[name] for n in nodes if isinstance(n, dict) and name in n]
            if each:
                nodes = [item for n in nodes if isinstance(n, list) for item in n]
        if nodes:
            found[field] = {_json_type(n) for n in nodes}
    return found


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string"}.get(
        type(value), "array" if isinstance(value, list) else "object"
    )


def assert_has_the_capture_structure(
    built: dict[str, Any], capture: dict[str, Any], fields: list[str]
) -> None:
    """Each field the capture has, the stand-in's webhook has too, of a type the capture
    shows (a null in either is a value, not a type: an unassigned conversation, a
    conversation_status_changed's changed_attributes)."""
    ours, theirs = types_at(built, fields), types_at(capture, fields)
    assert set(theirs) <= set(ours), f"missing: {sorted(set(theirs) - set(ours))}"
    for field, kinds in theirs.items():
        mismatch = (kinds - {"null"}) and (ours[field] - {"null"}) and not kinds & ours[field]
        assert not mismatch, f"{field}: {sorted(ours[field])} where Chatwoot sent {sorted(kinds)}"


@pytest.mark.parametrize(
    "capture", [AGENT_REPLY, "chatwoot_webhook_message_created_incoming_contact.json"]
)
async def test_the_standins_message_webhooks_have_the_captures_structure(
    chatwoot, capture: str
) -> None:
    chatwoot.add_incoming(42, "Where is my order #1042?")
    chatwoot.assigned_event(42, OLIVIA)  # assigned, so meta.assignee is an agent as captured
    real = real_fixture(capture)
    built = (
        chatwoot.agent_replies(42, "Shipped today", OLIVIA)
        if real["message_type"] == "outgoing"
        else chatwoot.message_created_event(chatwoot.add_incoming(42, "Any news?"))
    )
    assert_has_the_capture_structure(built, real, MESSAGE_FIELDS)
    [ours], [theirs] = built["conversation"]["messages"], real["conversation"]["messages"]
    assert ours["sender_type"] == theirs["sender_type"]


@pytest.mark.parametrize("capture", [RESOLVED, STATUS_CHANGED, UPDATED])
async def test_the_standins_conversation_webhooks_have_the_captures_structure(
    chatwoot, capture: str
) -> None:
    chatwoot.add_incoming(42, "Where is my order #1042?")
    real = real_fixture(capture)
    built = (
        chatwoot.assigned_event(42, OLIVIA)
        if real["event"] == "conversation_updated"
        else chatwoot.resolved_event(42)
    )
    assert_has_the_capture_structure(built, real, CONVERSATION_FIELDS)
