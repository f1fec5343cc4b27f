"""Chatwoot webhooks: which deliveries are customer messages to draft a reply for.

Chatwoot posts flat JSON (no ``data`` wrapper) with ``event`` at the top level. For
``message_created`` the payload is the message itself: ``id``, ``content``, ``message_type``
as a string ("incoming", "outgoing", "activity", "template"), ``private``, ``created_at``
(ISO 8601), ``sender`` (a contact's webhook data carries no ``type``; an agent's says
``"user"``, a bot's ``"agent_bot"``), ``account``, and the whole ``conversation`` (its ``id``
is the display id the API uses; inside ``conversation.messages[]`` ``message_type`` is an
integer and ``sender_type`` a class name such as ``"Contact"``).

``message_updated`` carries the same message data. Chatwoot sends it when a message changes,
its delivery status included; the payload has no ``status`` of its own, but a failed send
sets ``content_attributes.external_error`` and the message's entry in
``conversation.messages[]`` says ``"status": "failed"`` (docs/real-services.md, 13).

A customer's email address is only *verified* where Chatwoot vouches for it: on an email
inbox (``conversation.channel`` is ``"Channel::Email"``: the address is the one the reply goes
to), or for a contact identified with Chatwoot's identity validation (the HMAC of their
identifier; ``conversation.contact_inbox.hmac_verified``, repeated in ``meta``). On a web
widget or API inbox anyone can type any address.

Signed webhooks carry ``X-Chatwoot-Timestamp`` and ``X-Chatwoot-Signature:
sha256=<hex HMAC-SHA256(secret, "{timestamp}.{raw body}")>``; older Chatwoot versions do not
sign at all.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class IncomingMessage:
    conversation_id: int
    message_id: int
    content: str
    customer_name: str | None
    customer_email: str | None
    email_verified: bool  # Chatwoot vouches that the address is the customer's
    account_id: int | None
    created_at: int | None  # Unix seconds


def parse_incoming(payload: Mapping[str, Any]) -> IncomingMessage | None:
    """The customer's message in a ``message_created`` delivery, or None for any other event.

    None also for outgoing, activity and template messages, private notes, messages with no
    text (attachments only) and messages not sent by the contact.

    Raises:
        ValueError: the payload is not a Chatwoot webhook, or a message lacks its ids.
    """
    if not isinstance(payload, Mapping):
        raise ValueError("Chatwoot webhook payload must be a JSON object")
    event = payload.get("event")
    if not isinstance(event, str) or not event:
        raise ValueError("Chatwoot webhook payload has no 'event'")
    if event != "message_created":
        return None
    message_type = payload.get("message_type")
    if message_type is None:
        raise ValueError("message_created payload has no 'message_type'")
    if message_type != "incoming" or payload.get("private") is True:
        return None
    content = payload.get("content")
    if not isinstance(content, str) or not content.strip():
        return None
    conversation = payload.get("conversation")
    if not isinstance(conversation, Mapping):
        raise ValueError("message_created payload has no 'conversation' object")
    conversation_id = _required_id(conversation.get("id"), "conversation.id")
    message_id = _required_id(payload.get("id"), "id")
    listed = _listed_message(conversation, message_id)
    sender = payload.get("sender")
    sender = sender if isinstance(sender, Mapping) else {}
    if not _from_contact(sender, listed):
        return None
    contact = _mapping(_mapping(conversation.get("meta")).get("sender"))
    return IncomingMessage(
        conversation_id=conversation_id,
        message_id=message_id,
        content=content.strip(),
        customer_name=_text(sender.get("name")) or _text(contact.get("name")),
        customer_email=_text(sender.get("email")) or _text(contact.get("email")),
        email_verified=_email_verified(conversation),
        account_id=_first(
            _optional_id(_mapping(payload.get("account")).get("id")),
            _optional_id(listed.get("account_id")),
            _optional_id(_mapping(sender.get("account")).get("id")),
        ),
        created_at=_first(
            _unix_seconds(payload.get("created_at")), _unix_seconds(listed.get("created_at"))
        ),
    )


@dataclass(frozen=True)
class DeliveryFailure:
    """Chatwoot took an outgoing message but its channel did not deliver it."""

    conversation_id: int
    message_id: int
    error: str


def parse_delivery_failure(payload: Mapping[str, Any]) -> DeliveryFailure | None:
    """The failed delivery a ``message_updated`` reports, or None for any other delivery
    (another event, a private note, an incoming message, a send that did not fail)."""
    if payload.get("event") != "message_updated" or payload.get("private") is True:
        return None
    if payload.get("message_type") != "outgoing":
        return None
    conversation = _mapping(payload.get("conversation"))
    message_id = _optional_id(payload.get("id"))
    conversation_id = _optional_id(conversation.get("id"))
    if message_id is None or conversation_id is None:
        return None
    error = _text(_mapping(payload.get("content_attributes")).get("external_error"))
    failed = _listed_message(conversation, message_id).get("status") == "failed"
    if error is None and not failed:
        return None
    return DeliveryFailure(conversation_id, message_id, error or "the channel did not deliver it")


@dataclass(frozen=True)
class AnsweredInChatwoot:
    """Someone wrote to the customer in Chatwoot: a public outgoing message by an agent (a
    ``"user"``; an agent bot's automated messages do not count). It may be occ-bot's own
    reply, sent with an agent's token: only the caller can tell (docs/research/
    chatwoot_events_issue20.md, 4)."""

    conversation_id: int
    message_id: int
    content: str
    agent_id: int | None
    agent_name: str | None
    account_id: int | None = None


@dataclass(frozen=True)
class ResolvedInChatwoot:
    """The conversation was resolved in Chatwoot (``conversation_status_changed``)."""

    conversation_id: int
    account_id: int | None = None


@dataclass(frozen=True)
class AssignedInChatwoot:
    """The conversation's assignee changed in Chatwoot: to an agent (a ``"user"``), or to
    nobody (unassigned, or handed to an agent bot). It may be occ-bot's own doing (its token
    is an agent's): only the caller can tell."""

    conversation_id: int
    agent_id: int | None  # None: no person
    agent_name: str | None
    changed_at: datetime | None  # Chatwoot's ``updated_at``, when it sends one
    account_id: int | None = None


WorkInChatwoot = AnsweredInChatwoot | ResolvedInChatwoot | AssignedInChatwoot


def parse_work_in_chatwoot(payload: Mapping[str, Any]) -> WorkInChatwoot | None:
    """What a delivery says people did in Chatwoot, or None for anything else.

    ``conversation_status_changed`` carries the conversation itself, whose ``status`` is the
    new one (its ``changed_attributes`` is always null). ``conversation_resolved`` is no
    account webhook since Chatwoot 2.5, but older versions and agent-bot webhooks still send
    it: the event is itself the resolution, whatever ``status`` the conversation read again
    when it was sent shows (Chatwoot's own sample of it says ``"open"``). An assignment
    arrives only as ``conversation_updated`` whose ``changed_attributes`` (a list of
    ``{attribute: {previous_value, current_value}}``) names ``assignee_id``
    (docs/research/chatwoot_events_issue20.md, 1, 3, 6; tests/fixtures/real/README.md).
    """
    event = payload.get("event")
    if event == "conversation_updated":
        return _assignment(payload)
    if event in ("conversation_status_changed", "conversation_resolved"):
        conversation_id = _optional_id(payload.get("id"))
        resolved = event == "conversation_resolved" or payload.get("status") == "resolved"
        if conversation_id is None or not resolved:
            return None
        return ResolvedInChatwoot(conversation_id, _account_of(payload))
    if event != "message_created" or payload.get("message_type") != "outgoing":
        return None
    sender = _mapping(payload.get("sender"))
    if payload.get("private") is True or sender.get("type") != "user":
        return None
    conversation_id = _optional_id(_mapping(payload.get("conversation")).get("id"))
    message_id = _optional_id(payload.get("id"))
    if conversation_id is None or message_id is None:
        return None
    return AnsweredInChatwoot(
        conversation_id=conversation_id,
        message_id=message_id,
        content=payload.get("content") if isinstance(payload.get("content"), str) else "",
        agent_id=_optional_id(sender.get("id")),
        agent_name=_text(sender.get("available_name")) or _text(sender.get("name")),
        account_id=_account_of(payload),
    )


def _assignment(payload: Mapping[str, Any]) -> AssignedInChatwoot | None:
    """The assignee a ``conversation_updated`` shows, when its changes name ``assignee_id``.

    The conversation is the one Chatwoot read when it sent the webhook, so ``meta.assignee``
    (an agent's ``push_event_data``, or an agent bot's) is the assignee at that moment, which a
    later assignment may already have replaced; ``updated_at`` orders the deliveries."""
    changes = payload.get("changed_attributes")
    named = [c for c in changes if isinstance(c, Mapping)] if isinstance(changes, list) else []
    change = next((_mapping(c["assignee_id"]) for c in named if "assignee_id" in c), None)
    conversation_id = _optional_id(payload.get("id"))
    if change is None or conversation_id is None:
        return None
    meta = _mapping(payload.get("meta"))
    if "assignee" in meta:
        assignee = _mapping(meta.get("assignee"))
        person = assignee.get("type") == "user"  # an agent bot is no one on it
        agent_id = _optional_id(assignee.get("id")) if person else None
        name = _text(assignee.get("available_name")) or _text(assignee.get("name"))
    else:  # no meta to read: the change itself says who
        agent_id, name = _optional_id(change.get("current_value")), None
    return AssignedInChatwoot(
        conversation_id=conversation_id,
        agent_id=agent_id,
        agent_name=name if agent_id is not None else None,
        changed_at=_moment(payload.get("updated_at")),
        account_id=_account_of(payload),
    )


def _moment(value: Any) -> datetime | None:
    """Unix seconds (Chatwoot's float ``updated_at``) as a time, if it is a plausible one."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _account_of(payload: Mapping[str, Any]) -> int | None:
    """The account a delivery is from: ``account`` (a message's; a conversation's since
    Chatwoot 4.14), or the one its listed messages name."""
    messages = payload.get("messages") or _mapping(payload.get("conversation")).get("messages")
    listed = messages[0] if isinstance(messages, list) and messages else {}
    return _first(
        _optional_id(_mapping(payload.get("account")).get("id")),
        _optional_id(_mapping(listed).get("account_id")),
    )


def verify_signature(secret: str, timestamp: str, raw_body: bytes, signature: str) -> bool:
    """Whether ``signature`` (the ``X-Chatwoot-Signature`` header) signs this body and time.

    The replay window (how old ``timestamp`` may be) is the caller's to check.
    """
    if not secret or not timestamp or not signature:
        return False
    digest = hmac.new(
        secret.encode(), timestamp.encode() + b"." + raw_body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(f"sha256={digest}".encode(), signature.strip().lower().encode())


EMAIL_CHANNEL = "Channel::Email"


def _email_verified(conversation: Mapping[str, Any]) -> bool:
    if conversation.get("channel") == EMAIL_CHANNEL:
        return True
    contact_inbox = _mapping(conversation.get("contact_inbox"))
    meta = _mapping(conversation.get("meta"))
    return contact_inbox.get("hmac_verified") is True or meta.get("hmac_verified") is True


def _from_contact(sender: Mapping[str, Any], listed: Mapping[str, Any]) -> bool:
    kind = sender.get("type")
    if isinstance(kind, str) and kind.lower() != "contact":
        return False
    sender_type = listed.get("sender_type")
    return not (isinstance(sender_type, str) and sender_type != "Contact")


def _listed_message(conversation: Mapping[str, Any], message_id: int) -> Mapping[str, Any]:
    """This message's entry in ``conversation.messages``, or an empty mapping."""
    messages = conversation.get("messages")
    for entry in messages if isinstance(messages, list) else []:
        if isinstance(entry, Mapping) and _optional_id(entry.get("id")) == message_id:
            return entry
    return {}


def _required_id(value: Any, name: str) -> int:
    number = _optional_id(value)
    if number is None:
        raise ValueError(f"message_created payload has no valid '{name}' (got {value!r})")
    return number


def _optional_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _first(*values: int | None) -> int | None:
    return next((v for v in values if v is not None), None)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _unix_seconds(value: Any) -> int | None:
    """Chatwoot sends ISO 8601 at the top level and Unix seconds inside ``messages[]``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())
    return None
