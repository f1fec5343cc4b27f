"""The webhooks the Chatwoot stand-in builds for a test to deliver: ``message_created`` for a
stored message (a customer's, or a reply an agent typed in Chatwoot), ``message_updated`` when
the channel fails to deliver one, ``conversation_status_changed`` when an agent resolves the
conversation, and ``conversation_updated`` when it is assigned. Their fields follow Chatwoot's
``Message#webhook_data`` and ``Conversation#webhook_data`` at v4.15.1
(docs/research/chatwoot_events_issue20.md, 2, 3, 6 and 8)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.demo.standins.chatwoot.agents import Agents
from bot.demo.standins.chatwoot.model import INCOMING, OUTGOING, ChatwootAgent, Conversation

ACTIVITY = 2
# A listed message's ``sender_type``: the sender's class name (research note 3).
SENDER_TYPES = {"user": "User", "contact": "Contact", "agent_bot": "AgentBot"}


class Webhooks(Agents):
    """Message webhooks as Chatwoot sends them (set up by `ChatwootStandin`)."""

    inbox_id: int
    _conversations: dict[int, Conversation]
    agents: list[ChatwootAgent]
    _store_message: Callable[..., dict[str, Any]]  # Conversations'
    _conversation: Callable[..., Conversation]
    _assign_to: Callable[[Conversation, int | None], None]

    def message_created_event(self, message: dict[str, Any]) -> dict[str, Any]:
        """The ``message_created`` webhook Chatwoot would send for a stored message."""
        return self._message_event("message_created", message)

    def agent_replies(
        self, conversation_id: int, content: str, agent_id: int, *, created_at: int | None = None
    ) -> dict[str, Any]:
        """An agent answers the customer in Chatwoot's dashboard (now, or at ``created_at``):
        the reply is stored, and the ``message_created`` webhook Chatwoot then sends is
        returned."""
        agent = next(a for a in self.agents if a.id == agent_id)
        conversation = self._conversation(conversation_id, create=False)
        message = self._store_message(
            conversation,
            content,
            OUTGOING,
            private=False,
            sender=self._sender_json(agent),
            created_at=created_at,
        )
        return self._message_event("message_created", message)

    def resolved_event(self, conversation_id: int) -> dict[str, Any]:
        """An agent resolves the conversation in Chatwoot: the ``conversation_status_changed``
        webhook, the conversation with its new ``status`` (``changed_attributes`` is null for
        this event, research note 3)."""
        self.resolve(conversation_id)
        conversation = self._conversations[conversation_id]
        return {
            **self._conversation_data(conversation, _last_public(conversation)),
            "event": "conversation_status_changed",
            "changed_attributes": None,
        }

    def assigned_event(self, conversation_id: int, agent_id: int | None) -> dict[str, Any]:
        """Someone assigns the conversation to an agent in Chatwoot (``None``: unassigns it).
        Chatwoot's only webhook for it is ``conversation_updated``: the conversation as it now
        stands, its ``changed_attributes`` a list naming each attribute the save changed,
        ``assignee_id`` and ``updated_at`` (``Conversation#webhook_data`` merged with
        ``changed_attributes`` in ``WebhookListener#conversation_updated``; research note 6 and
        sample 8.4)."""
        conversation = self._conversation(conversation_id, create=False)
        before, then = conversation.assignee_id, conversation.updated_at
        agent = next(a for a in self.agents if a.id == agent_id) if agent_id is not None else None
        self._assign_to(conversation, agent.id if agent else None)
        changed = {
            "assignee_id": {"previous_value": before, "current_value": conversation.assignee_id},
            "updated_at": {
                "previous_value": _iso(then),
                "current_value": _iso(conversation.updated_at),
            },
        }
        return {
            **self._conversation_data(conversation, _last_public(conversation)),
            "event": "conversation_updated",
            "changed_attributes": [{name: change} for name, change in changed.items()],
        }

    def fail_delivery(self, message_id: int, error: str) -> dict[str, Any]:
        """The channel refuses a message Chatwoot had taken (a WhatsApp template error, an
        SMS provider's refusal): it is stored ``failed`` with ``external_error``, and the
        ``message_updated`` webhook Chatwoot then sends is returned (docs/real-services.md)."""
        message = next(
            m for c in self._conversations.values() for m in c.messages if m["id"] == message_id
        )
        message["status"] = "failed"
        message["content_attributes"] = {**message["content_attributes"], "external_error": error}
        return self._message_event("message_updated", message)

    def _message_event(self, event: str, message: dict[str, Any]) -> dict[str, Any]:
        """A message webhook as Chatwoot's ``Message#webhook_data`` builds it (no ``status``
        of its own; the conversation lists the message with its status)."""
        conversation = self._conversations[message["conversation_id"]]
        return {
            "event": event,
            "id": message["id"],
            "content": message["content"],
            "content_type": message["content_type"],
            "content_attributes": message["content_attributes"],
            "additional_attributes": {},
            "created_at": _iso(message["created_at"]),
            "message_type": _type_name(message["message_type"]),
            "private": message["private"],
            "source_id": None,
            "sender": self._sender_data(message["sender"]),
            "account": {"id": self.account_id, "name": "OCC Stand-in"},
            "inbox": {"id": self.inbox_id, "name": "OCC Stand-in Inbox"},
            "conversation": self._conversation_data(conversation, [message]),
        }

    def _listed(self, conversation: Conversation, message: dict[str, Any]) -> dict[str, Any]:
        """A message as a conversation's webhook lists it: ``Message#push_event_data``, every
        column (the integer ``message_type``, ``account_id``, ``sender_type``/``sender_id``),
        then a little of its conversation and its sender (research note 3; the real captures
        in tests/fixtures/real list theirs so)."""
        sender = message["sender"]
        return {
            "id": message["id"],
            "content": message["content"],
            "account_id": self.account_id,
            "inbox_id": message["inbox_id"],
            "conversation_id": message["conversation_id"],
            "message_type": message["message_type"],
            "created_at": message["created_at"],
            "updated_at": _iso(message["created_at"]),
            "private": message["private"],
            "status": message["status"],
            "source_id": message["source_id"],
            "content_type": message["content_type"],
            "content_attributes": message["content_attributes"],
            "sender_type": SENDER_TYPES.get(sender.get("type")) if sender else None,
            "sender_id": sender.get("id") if sender else None,
            "external_source_ids": {},
            "additional_attributes": {},
            "processed_message_content": message["content"],
            "sentiment": {},
            "conversation": {
                "assignee_id": conversation.assignee_id,
                "unread_count": 0,
                "last_activity_at": message["created_at"],
                "contact_inbox": {"source_id": _source_id(conversation)},
            },
            "sender": sender,
        }

    def _conversation_data(
        self, conversation: Conversation, messages: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """``Conversation#webhook_data``, its keys in Chatwoot's order (research note 3):
        ``contact_inbox`` is the whole ContactInbox row, ``messages`` are listed as
        `_listed` says, ``meta.assignee`` is the agent's ``push_event_data``
        (``available_name``, ``"type": "user"``), and the conversation names its account
        (since Chatwoot 4.14)."""
        assignee = next((a for a in self.agents if a.id == conversation.assignee_id), None)
        replies = [
            m for m in conversation.messages if m["message_type"] == OUTGOING and not m["private"]
        ]
        last = conversation.messages[-1]["created_at"] if conversation.messages else None
        activity = last if last is not None else conversation.created_at
        return {
            "additional_attributes": {},
            "can_reply": True,
            "channel": conversation.channel,
            "contact_inbox": {
                "id": conversation.contact.get("id"),
                "contact_id": conversation.contact.get("id"),
                "inbox_id": self.inbox_id,
                "source_id": _source_id(conversation),
                "created_at": _iso(conversation.created_at),
                "updated_at": _iso(conversation.created_at),
                "hmac_verified": conversation.hmac_verified,
                "pubsub_token": f"standin{conversation.contact.get('id')}",
            },
            "id": conversation.id,
            "inbox_id": self.inbox_id,
            "messages": [self._listed(conversation, m) for m in messages],
            "labels": [],
            "meta": {
                "sender": {**conversation.contact, "type": "contact"},
                "assignee": self._sender_json(assignee) if assignee else None,
                "assignee_type": "User" if assignee else None,
                "team": None,
                "hmac_verified": conversation.hmac_verified,
            },
            "status": conversation.status,
            "custom_attributes": {},
            "snoozed_until": None,
            "unread_count": 0,
            "first_reply_created_at": _iso(replies[0]["created_at"]) if replies else None,
            "priority": None,
            "waiting_since": conversation.waiting_since,
            "agent_last_seen_at": 0,
            "contact_last_seen_at": 0,
            "last_activity_at": activity,
            "timestamp": activity,
            "created_at": conversation.created_at,
            "updated_at": conversation.updated_at,
            "account": {"id": self.account_id, "name": "OCC Stand-in"},
        }

    def _sender_data(self, sender: dict[str, Any]) -> dict[str, Any]:
        """A message's sender in its webhook: an agent's ``User#webhook_data`` (id, name,
        email, ``"type": "user"``); a contact's carries no ``type`` (research note 2)."""
        if sender.get("type") != "user":
            return {k: v for k, v in sender.items() if k != "type"}
        agent = next(a for a in self.agents if a.id == sender["id"])
        return {"id": agent.id, "name": agent.name, "email": agent.email, "type": "user"}


def _type_name(message_type: int) -> str:
    return {INCOMING: "incoming", OUTGOING: "outgoing", 2: "activity", 3: "template"}.get(
        message_type, str(message_type)
    )


def _last_public(conversation: Conversation) -> list[dict[str, Any]]:
    """A conversation webhook's ``messages``: its last message that is neither private nor
    an activity, if any (``messages.chat.last``; research note 3)."""
    shown = [m for m in conversation.messages if not m["private"] and m["message_type"] != ACTIVITY]
    return shown[-1:]


def _source_id(conversation: Conversation) -> str:
    """The contact's id in the inbox's channel (an API inbox's is a UUID Chatwoot makes)."""
    return f"standin-contact-{conversation.contact.get('id')}"


def _iso(unix: float) -> str:
    """A time as Rails renders it in JSON: ISO 8601 with milliseconds, UTC."""
    moment = datetime.fromtimestamp(unix, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
