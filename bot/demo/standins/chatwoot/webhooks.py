"""The webhooks the Chatwoot stand-in builds for a test to deliver: ``message_created`` for a
stored message (a customer's, or a reply an agent typed in Chatwoot), ``message_updated`` when
the channel fails to deliver one, and ``conversation_status_changed`` when an agent resolves
the conversation. Their fields follow Chatwoot's ``Message#webhook_data`` and
``Conversation#webhook_data`` (docs/research/chatwoot_events_issue20.md)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.demo.standins.chatwoot.agents import Agents
from bot.demo.standins.chatwoot.model import INCOMING, OUTGOING, ChatwootAgent, Conversation


class Webhooks(Agents):
    """Message webhooks as Chatwoot sends them (set up by `ChatwootStandin`)."""

    inbox_id: int
    _conversations: dict[int, Conversation]
    agents: list[ChatwootAgent]
    _store_message: Callable[..., dict[str, Any]]  # Conversations'
    _conversation: Callable[..., Conversation]

    def message_created_event(self, message: dict[str, Any]) -> dict[str, Any]:
        """The ``message_created`` webhook Chatwoot would send for a stored message."""
        return self._message_event("message_created", message)

    def agent_replies(self, conversation_id: int, content: str, agent_id: int) -> dict[str, Any]:
        """An agent answers the customer in Chatwoot's dashboard: the reply is stored, and the
        ``message_created`` webhook Chatwoot then sends is returned."""
        agent = next(a for a in self.agents if a.id == agent_id)
        conversation = self._conversation(conversation_id, create=False)
        message = self._store_message(
            conversation, content, OUTGOING, private=False, sender=self._sender_json(agent)
        )
        return self._message_event("message_created", message)

    def resolved_event(self, conversation_id: int) -> dict[str, Any]:
        """An agent resolves the conversation in Chatwoot: the ``conversation_status_changed``
        webhook, the conversation with its new ``status`` (``changed_attributes`` is null for
        this event, research note 3)."""
        self.resolve(conversation_id)
        conversation = self._conversations[conversation_id]
        return {
            **self._conversation_data(conversation, conversation.messages[-1:]),
            "event": "conversation_status_changed",
            "changed_attributes": None,
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
        sent = datetime.fromtimestamp(message["created_at"], UTC)
        return {
            "event": event,
            "id": message["id"],
            "content": message["content"],
            "content_type": message["content_type"],
            "content_attributes": message["content_attributes"],
            "additional_attributes": {},
            "created_at": sent.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "message_type": _type_name(message["message_type"]),
            "private": message["private"],
            "source_id": None,
            "sender": self._sender_data(message["sender"]),
            "account": {"id": self.account_id, "name": "OCC Stand-in"},
            "inbox": {"id": self.inbox_id, "name": "OCC Stand-in Inbox"},
            "conversation": self._conversation_data(conversation, [message]),
        }

    def _conversation_data(
        self, conversation: Conversation, messages: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """``Conversation#webhook_data``, as far as the bot reads it."""
        return {
            "id": conversation.id,
            "inbox_id": self.inbox_id,
            "status": conversation.status,
            "can_reply": True,
            "channel": conversation.channel,
            "contact_inbox": {
                "contact_id": conversation.contact.get("id"),
                "inbox_id": self.inbox_id,
                "hmac_verified": conversation.hmac_verified,
            },
            "messages": messages,
            "meta": {
                "sender": {**conversation.contact, "type": "contact"},
                "assignee": self._assignee_json(conversation),
                "hmac_verified": conversation.hmac_verified,
            },
            "additional_attributes": {},
            "custom_attributes": {},
            "labels": [],
            "timestamp": messages[-1]["created_at"] if messages else 0,
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
