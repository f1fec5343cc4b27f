"""The webhooks the Chatwoot stand-in builds for a test to deliver: ``message_created`` for a
stored message, and ``message_updated`` when the channel fails to deliver one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.demo.standins.chatwoot.agents import Agents
from bot.demo.standins.chatwoot.model import INCOMING, OUTGOING, Conversation


class Webhooks(Agents):
    """Message webhooks as Chatwoot sends them (set up by `ChatwootStandin`)."""

    inbox_id: int
    _conversations: dict[int, Conversation]

    def message_created_event(self, message: dict[str, Any]) -> dict[str, Any]:
        """The ``message_created`` webhook Chatwoot would send for a stored message."""
        return self._message_event("message_created", message)

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
            "sender": {k: v for k, v in message["sender"].items() if k != "type"},
            "account": {"id": self.account_id, "name": "OCC Stand-in"},
            "inbox": {"id": self.inbox_id, "name": "OCC Stand-in Inbox"},
            "conversation": {
                "id": conversation.id,
                "inbox_id": self.inbox_id,
                "status": "open",
                "can_reply": True,
                "channel": conversation.channel,
                "contact_inbox": {
                    "contact_id": conversation.contact.get("id"),
                    "inbox_id": self.inbox_id,
                    "hmac_verified": conversation.hmac_verified,
                },
                "messages": [message],
                "meta": {
                    "sender": {**conversation.contact, "type": "contact"},
                    "assignee": self._assignee_json(conversation),
                    "hmac_verified": conversation.hmac_verified,
                },
                "additional_attributes": {},
                "custom_attributes": {},
                "labels": [],
                "timestamp": message["created_at"],
            },
        }


def _type_name(message_type: int) -> str:
    return {INCOMING: "incoming", OUTGOING: "outgoing", 2: "activity", 3: "template"}.get(
        message_type, str(message_type)
    )
