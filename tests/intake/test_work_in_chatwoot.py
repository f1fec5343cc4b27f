"""What people do in Chatwoot itself, read from its webhooks: an agent's reply, a resolution.

Built on Chatwoot's real payloads (tests/fixtures/real). An agent's outgoing message has the
same form as a contact's incoming one but for ``message_type`` and ``sender`` (an agent's
webhook data: id, name, email, ``"type": "user"``), per Chatwoot's Message#webhook_data and
User#webhook_data (docs/research/chatwoot_events_issue20.md, 2 and 8.1).
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.integrations.chatwoot_webhook import (
    AnsweredInChatwoot,
    ResolvedInChatwoot,
    parse_incoming,
    parse_work_in_chatwoot,
)
from tests.intake.test_chatwoot_webhook import real

DANA = {"id": 3, "name": "Dana Reyes", "email": "dana@acme.example", "type": "user"}


@pytest.fixture
def agent_reply() -> dict[str, Any]:
    message = real("chatwoot_webhook_message_created_incoming_contact.json")
    return message | {"message_type": "outgoing", "content": "Shipped today!", "sender": DANA}


@pytest.fixture
def status_changed() -> dict[str, Any]:
    return real("chatwoot_webhook_conversation_status_changed.json") | {
        "event": "conversation_status_changed"
    }


def test_an_agents_public_reply_is_work_done_in_chatwoot(agent_reply: dict) -> None:
    assert parse_work_in_chatwoot(agent_reply) == AnsweredInChatwoot(
        conversation_id=25,
        message_id=17547,
        content="Shipped today!",
        agent_id=3,
        agent_name="Dana Reyes",
        account_id=1,
    )
    assert parse_incoming(agent_reply) is None  # and never a customer message to draft


def test_the_agents_available_name_is_preferred(agent_reply: dict) -> None:
    agent_reply["sender"] = DANA | {"available_name": "Dana"}
    answered = parse_work_in_chatwoot(agent_reply)
    assert isinstance(answered, AnsweredInChatwoot) and answered.agent_name == "Dana"


@pytest.mark.parametrize(
    "change",
    [
        {"private": True},  # a private note: the customer saw nothing
        {"sender": {"id": 1, "name": "ChatsappAI-Bot", "type": "agent_bot"}},  # automated
        {"message_type": "incoming"},
        {"message_type": "activity"},
        {"event": "message_updated"},  # a delivery status, not a new reply
    ],
)
def test_what_is_not_a_person_answering_is_not_work(agent_reply: dict, change: dict) -> None:
    assert parse_work_in_chatwoot(agent_reply | change) is None


def test_a_conversation_resolved_in_chatwoot(status_changed: dict) -> None:
    assert parse_work_in_chatwoot(status_changed) is None  # the real capture: back to open
    resolved = status_changed | {"status": "resolved"}
    # No conversation-level ``account`` before Chatwoot 4.14: its listed message names it.
    assert parse_work_in_chatwoot(resolved) == ResolvedInChatwoot(conversation_id=24, account_id=1)


@pytest.mark.parametrize(
    "name",
    [
        "chatwoot_webhook_conversation_created.json",
        "chatwoot_webhook_conversation_updated_changed_attributes.json",
        "chatwoot_webhook_message_created_incoming_contact.json",
    ],
)
def test_other_deliveries_are_not_work(name: str) -> None:
    assert parse_work_in_chatwoot(real(name)) is None
