"""Which Chatwoot webhook deliveries become customer messages, on Chatwoot's real payloads."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.integrations.chatwoot_webhook import IncomingMessage, parse_incoming, verify_signature

# Real payloads, copied from shared/fixtures/real (its SOURCES.md §3 says where each is from).
_FIXTURE_DIRS = (Path(__file__).parents[1] / "fixtures" / "real",)


def real(name: str) -> dict[str, Any]:
    for folder in _FIXTURE_DIRS:
        if (folder / name).exists():
            return json.loads((folder / name).read_text(encoding="utf-8"))
    raise FileNotFoundError(f"fixture {name} not found in {[str(d) for d in _FIXTURE_DIRS]}")


@pytest.fixture
def incoming() -> dict[str, Any]:
    return real("chatwoot_webhook_message_created_incoming_contact.json")


def test_an_incoming_contact_message_becomes_a_customer_message(incoming: dict) -> None:
    assert parse_incoming(incoming) == IncomingMessage(
        conversation_id=25,
        message_id=17547,
        content="hola",
        customer_name="Sample Contact",
        customer_email=None,
        email_verified=False,  # WhatsApp, and hmac_verified is false
        account_id=1,
        created_at=int(datetime(2023, 10, 11, 4, 2, 51, tzinfo=UTC).timestamp()),
    )


@pytest.mark.parametrize(
    "name",
    [
        "chatwoot_webhook_conversation_created.json",
        "chatwoot_webhook_conversation_status_changed.json",
        "chatwoot_webhook_conversation_updated_changed_attributes.json",
    ],
)
def test_conversation_events_are_not_messages(name: str) -> None:
    assert parse_incoming(real(name)) is None


@pytest.mark.parametrize("message_type", ["outgoing", "activity", "template"])
def test_messages_that_are_not_incoming_are_ignored(incoming: dict, message_type: str) -> None:
    incoming["message_type"] = message_type
    assert parse_incoming(incoming) is None


def test_a_private_note_is_ignored(incoming: dict) -> None:
    incoming["private"] = True
    assert parse_incoming(incoming) is None


def test_a_message_updated_event_is_ignored(incoming: dict) -> None:
    incoming["event"] = "message_updated"
    assert parse_incoming(incoming) is None


@pytest.mark.parametrize("content", [None, "", "   \n"])
def test_a_message_without_text_is_ignored(incoming: dict, content: str | None) -> None:
    incoming["content"] = content
    assert parse_incoming(incoming) is None


@pytest.mark.parametrize("sender_type", ["user", "agent_bot"])
def test_a_message_from_an_agent_or_bot_is_ignored(incoming: dict, sender_type: str) -> None:
    incoming["sender"] = {"id": 3, "name": "Dana", "email": "dana@example.com", "type": sender_type}
    assert parse_incoming(incoming) is None


def test_a_message_listed_as_sent_by_a_user_is_ignored(incoming: dict) -> None:
    incoming["conversation"]["messages"][0]["sender_type"] = "User"
    assert parse_incoming(incoming) is None


def test_a_sender_typed_contact_is_accepted(incoming: dict) -> None:
    incoming["sender"]["type"] = "contact"
    message = parse_incoming(incoming)
    assert message is not None and message.customer_name == "Sample Contact"


def test_the_customer_email_comes_from_the_sender(incoming: dict) -> None:
    incoming["sender"]["email"] = "susan@example.com"
    message = parse_incoming(incoming)
    assert message is not None and message.customer_email == "susan@example.com"


@pytest.mark.parametrize(
    ("channel", "contact_inbox_verified", "meta_verified", "verified"),
    [
        ("Channel::Email", False, False, True),  # the reply goes to that very address
        ("Channel::WebWidget", True, True, True),  # identified by the HMAC of their id
        ("Channel::Api", False, True, True),
        ("Channel::WebWidget", False, False, False),  # typed by whoever is at the widget
        ("Channel::Api", "true", None, False),  # only a JSON true vouches for anyone
    ],
)
def test_an_email_is_verified_only_where_chatwoot_vouches_for_it(
    incoming: dict, channel: str, contact_inbox_verified: Any, meta_verified: Any, verified: bool
) -> None:
    incoming["sender"]["email"] = "susan@example.com"
    conversation = incoming["conversation"]
    conversation["channel"] = channel
    conversation["contact_inbox"]["hmac_verified"] = contact_inbox_verified
    conversation["meta"]["hmac_verified"] = meta_verified
    message = parse_incoming(incoming)
    assert message is not None and message.email_verified is verified


def test_name_and_email_fall_back_to_the_conversation_contact(incoming: dict) -> None:
    del incoming["sender"]
    incoming["conversation"]["meta"]["sender"]["email"] = "susan@example.com"
    message = parse_incoming(incoming)
    assert message is not None
    assert (message.customer_name, message.customer_email) == (
        "Sample Contact",
        "susan@example.com",
    )


def test_time_and_account_fall_back_to_the_listed_message(incoming: dict) -> None:
    del incoming["created_at"]
    del incoming["account"]
    message = parse_incoming(incoming)
    assert message is not None
    assert (message.created_at, message.account_id) == (1696996971, 1)


def test_the_content_is_trimmed(incoming: dict) -> None:
    incoming["content"] = "  Where is my order #12345?\n"
    message = parse_incoming(incoming)
    assert message is not None and message.content == "Where is my order #12345?"


def test_a_payload_that_is_not_an_object_is_rejected() -> None:
    with pytest.raises(ValueError, match="JSON object"):
        parse_incoming(["message_created"])  # type: ignore[arg-type]


def test_a_payload_without_event_is_rejected(incoming: dict) -> None:
    del incoming["event"]
    with pytest.raises(ValueError, match="'event'"):
        parse_incoming(incoming)


def test_a_message_without_conversation_is_rejected(incoming: dict) -> None:
    del incoming["conversation"]
    with pytest.raises(ValueError, match="'conversation'"):
        parse_incoming(incoming)


def test_a_message_without_conversation_id_is_rejected(incoming: dict) -> None:
    del incoming["conversation"]["id"]
    with pytest.raises(ValueError, match=r"conversation\.id"):
        parse_incoming(incoming)


def test_a_message_with_a_non_numeric_id_is_rejected(incoming: dict) -> None:
    incoming["id"] = "abc"
    with pytest.raises(ValueError, match="'id'"):
        parse_incoming(incoming)


def test_a_message_without_message_type_is_rejected(incoming: dict) -> None:
    del incoming["message_type"]
    with pytest.raises(ValueError, match="message_type"):
        parse_incoming(incoming)


def test_parsing_leaves_the_payload_untouched(incoming: dict) -> None:
    before = copy.deepcopy(incoming)
    parse_incoming(incoming)
    assert incoming == before


# Computed with: printf '%s' '1718000000.{"event":"message_created","id":1}' \
#   | openssl dgst -sha256 -hmac 'whsec_test_secret'
SECRET = "whsec_test_secret"
TIMESTAMP = "1718000000"
BODY = b'{"event":"message_created","id":1}'
SIGNATURE = "sha256=b101194b6a43d279533b0692ec5c7d176659093d14e6a5fc513f41ae311d67e2"


def test_a_correct_signature_verifies() -> None:
    assert verify_signature(SECRET, TIMESTAMP, BODY, SIGNATURE)


def test_hex_case_does_not_matter() -> None:
    assert verify_signature(SECRET, TIMESTAMP, BODY, "sha256=" + SIGNATURE[7:].upper())


@pytest.mark.parametrize(
    ("secret", "timestamp", "body", "signature"),
    [
        ("other_secret", TIMESTAMP, BODY, SIGNATURE),
        (SECRET, "1718000001", BODY, SIGNATURE),
        (SECRET, TIMESTAMP, BODY + b" ", SIGNATURE),
        (SECRET, TIMESTAMP, BODY, SIGNATURE[7:]),
        (SECRET, TIMESTAMP, BODY, ""),
        ("", TIMESTAMP, BODY, SIGNATURE),
        (SECRET, TIMESTAMP, BODY, "sha256=é"),
    ],
    ids=["secret", "timestamp", "body", "no-prefix", "empty", "no-secret", "non-ascii"],
)
def test_a_wrong_signature_fails(secret: str, timestamp: str, body: bytes, signature: str) -> None:
    assert not verify_signature(secret, timestamp, body, signature)
