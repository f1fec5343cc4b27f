"""The Chatwoot stand-in's conversations and their messages: seeding and reading them, the
conversation list, one conversation, its messages (listed and created) and its assignments,
and how Chatwoot renders each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.demo.standins.chatwoot import conversation_list
from bot.demo.standins.chatwoot.agents import Agents
from bot.demo.standins.chatwoot.model import (
    INCOMING,
    MESSAGE_TYPES,
    OUTGOING,
    Conversation,
    NotFound,
)

PAGE_SIZE = 20
REPLIERS = ("user", "agent_bot")  # senders whose public reply ends the customer's wait


class Conversations(Agents):
    """Conversations, messages and assignments (set up by `ChatwootStandin`)."""

    inbox_id: int
    agent_bot: bool
    inbox_members: set[int]
    auto_create: bool
    conversations_per_page: int
    _on_list: Callable[[], None] | None
    _clock: Callable[[], float]
    _conversations: dict[int, Conversation]
    _next_message_id: int
    _fail_after_commit: int

    def add_incoming(
        self,
        conversation_id: int,
        content: str,
        *,
        contact_name: str = "Customer",
        contact_email: str | None = None,
        created_at: int | None = None,
        channel: str | None = None,
        hmac_verified: bool | None = None,
    ) -> dict[str, Any]:
        """A customer's message, as if it had arrived in the conversation; returns it.
        ``channel`` ("Channel::Email", "Channel::WebWidget", …) and ``hmac_verified`` set the
        conversation's inbox and the contact's identity validation (kept when not given)."""
        conversation = self._conversation(conversation_id, create=True, created_at=created_at)
        conversation.contact.update(name=contact_name, email=contact_email)
        if channel is not None:
            conversation.channel = channel
        if hmac_verified is not None:
            conversation.hmac_verified = hmac_verified
        sender = {**conversation.contact, "type": "contact"}
        return self._store_message(
            conversation, content, INCOMING, private=False, sender=sender, created_at=created_at
        )

    def agent_bot_replies(
        self, conversation_id: int, content: str, *, created_at: int | None = None
    ) -> dict[str, Any]:
        """The inbox's agent bot answers the customer: Chatwoot counts that as a reply, so
        nobody waits any more (``Message#bot_response?``); returns the message."""
        conversation = self._conversation(conversation_id, create=False)
        sender = {"id": 1, "name": "Inbox Bot", "avatar_url": "", "type": "agent_bot"}
        return self._store_message(
            conversation, content, OUTGOING, private=False, sender=sender, created_at=created_at
        )

    def resolve(self, conversation_id: int) -> None:
        """An agent resolved the conversation in Chatwoot: it no longer waits."""
        conversation = self._conversation(conversation_id, create=False)
        conversation.status, conversation.waiting_since = "resolved", 0
        conversation.updated_at = self._clock()

    def messages(self, conversation_id: int) -> list[dict[str, Any]]:
        conversation = self._conversations.get(conversation_id)
        return [dict(m) for m in conversation.messages] if conversation else []

    def sent_replies(self, conversation_id: int) -> list[dict[str, Any]]:
        """Outgoing messages the customer sees (delivered: not ``failed``)."""
        return [
            m
            for m in self.messages(conversation_id)
            if m["message_type"] == OUTGOING and not m["private"] and m["status"] != "failed"
        ]

    def close_reply_window(self, conversation_id: int) -> None:
        """The channel takes no more replies (WhatsApp, 24 h after the customer's last
        message): the conversation shows ``can_reply: false``, and a reply created anyway is
        answered 200 "sent", then fails to deliver (``status: failed`` with
        ``content_attributes.external_error``; docs/real-services.md)."""
        self._conversation(conversation_id, create=True).can_reply = False

    def private_notes(self, conversation_id: int) -> list[dict[str, Any]]:
        return [m for m in self.messages(conversation_id) if m["private"]]

    def assignments(self, conversation_id: int) -> list[int | None]:
        """Every assignment made, oldest first (None: the id was no agent, so unassigned)."""
        conversation = self._conversations.get(conversation_id)
        return list(conversation.assignments) if conversation else []

    def assignee(self, conversation_id: int) -> int | None:
        conversation = self._conversations.get(conversation_id)
        return conversation.assignee_id if conversation else None

    async def _conversation_list(self, request: Request, body: Any) -> Response:
        if self._on_list is not None:
            self._on_list()
        query = request.query_params
        status = query.get("status") or "open"
        owner = self.agents[0]
        if owner.role != "administrator" and owner.id not in self.inbox_members:
            listed = []  # an agent sees only their own inboxes' conversations
        else:
            listed = [
                c for c in self._conversations.values() if status == "all" or c.status == status
            ]
        page = conversation_list.one_page(
            conversation_list.of_assignee_type(listed, query.get("assignee_type"), owner.id),
            self._last_activity,
            sort_by=query.get("sort_by"),
            page=query.get("page"),
            per_page=self.conversations_per_page,
        )
        return JSONResponse(
            {
                "data": {
                    "meta": conversation_list.counts(listed, owner.id),
                    "payload": [self._conversation_json(c) for c in page],
                }
            }
        )

    async def _messages_endpoint(self, request: Request, body: Any) -> Response:
        conversation = self._conversation(
            request.path_params["conversation_id"], create=self.auto_create
        )
        if request.method == "GET":
            return JSONResponse(
                self._message_list(conversation, request.query_params.get("before"))
            )
        if not isinstance(body, dict):
            return JSONResponse(
                {"error": "param is missing or the value is empty: content"}, status_code=422
            )
        message_type = MESSAGE_TYPES.get(str(body.get("message_type", "outgoing")))
        if message_type is None:
            return JSONResponse(
                {
                    "message": "Message type is not included in the list",
                    "attributes": ["message_type"],
                },
                status_code=422,
            )
        owner = self.agents[0]
        message = self._store_message(
            conversation,
            body.get("content"),
            message_type,
            private=body.get("private") in (True, "true"),
            sender=self._sender_json(owner),
            content_type=str(body.get("content_type") or "text"),
            content_attributes=body.get("content_attributes") or {},
        )
        if self._fail_after_commit > 0:
            self._fail_after_commit -= 1
            return JSONResponse({"status": 500, "error": "Internal Server Error"}, status_code=500)
        return JSONResponse(message)

    async def _conversation_show(self, request: Request, body: Any) -> Response:
        conversation = self._conversation(
            request.path_params["conversation_id"], create=self.auto_create
        )
        return JSONResponse(self._conversation_json(conversation))

    async def _assign(self, request: Request, body: Any) -> Response:
        conversation = self._conversation(
            request.path_params["conversation_id"], create=self.auto_create
        )
        if not isinstance(body, dict) or "assignee_id" not in body:
            return JSONResponse(None)  # team assignment: there are no teams here
        agent = next((a for a in self.agents if str(a.id) == str(body["assignee_id"])), None)
        self._assign_to(conversation, agent.id if agent else None)
        return JSONResponse(self._agent_json(agent) if agent else None)

    def _assign_to(self, conversation: Conversation, agent_id: int | None) -> None:
        conversation.assignee_id = agent_id
        conversation.assignments.append(agent_id)
        conversation.updated_at = self._clock()

    def _conversation(
        self, conversation_id: int, *, create: bool, created_at: int | None = None
    ) -> Conversation:
        """The conversation; a new one if ``create`` (made now, or at ``created_at``: when
        the customer's first message arrived)."""
        conversation = self._conversations.get(conversation_id)
        if conversation is None:
            if not create:
                raise NotFound
            now = self._clock()
            conversation = Conversation(
                id=conversation_id,
                contact={"id": 500 + conversation_id, "name": "Customer", "email": None},
                created_at=int(now) if created_at is None else created_at,
                updated_at=now,
            )
            self._conversations[conversation_id] = conversation
        return conversation

    def _store_message(
        self,
        conversation: Conversation,
        content: Any,
        message_type: int,
        *,
        private: bool,
        sender: dict[str, Any],
        content_type: str = "text",
        content_attributes: dict[str, Any] | None = None,
        created_at: int | None = None,
    ) -> dict[str, Any]:
        self._next_message_id += 1
        message = {
            "id": self._next_message_id,
            "content": content,
            "inbox_id": self.inbox_id,
            "conversation_id": conversation.id,
            "message_type": message_type,
            "content_type": content_type,
            "content_attributes": content_attributes or {},
            "created_at": created_at if created_at is not None else int(self._clock()),
            "private": private,
            "source_id": None,
            "sender": sender,
            "status": "sent",
        }
        conversation.messages.append(message)
        conversation.updated_at = max(conversation.updated_at, float(message["created_at"]))
        answered = dict(message)
        if message_type == OUTGOING and not private and not conversation.can_reply:
            message["status"] = "failed"  # the channel's send job fails after the answer
            message["content_attributes"] = {
                **message["content_attributes"],
                "external_error": "Message failed to send: the 24-hour reply window is closed",
            }
        # Message#update_waiting_since: a customer's message starts a wait unless one is on;
        # a person's or an agent bot's public reply ends it (a template or an automation's
        # message has no such sender and does not).
        if message_type == INCOMING and not conversation.waiting_since:
            conversation.waiting_since = message["created_at"]
            conversation.status = "pending" if self.agent_bot else "open"
        elif message_type == OUTGOING and not private and sender.get("type") in REPLIERS:
            conversation.waiting_since = 0
        return answered

    def _message_list(self, conversation: Conversation, before: str | None) -> dict[str, Any]:
        messages = conversation.messages
        if before is not None and before.isdigit():
            messages = [m for m in messages if m["id"] < int(before)]
        return {
            "meta": {
                "labels": [],
                "additional_attributes": {},
                "contact": {**conversation.contact, "type": "contact"},
                "assignee": self._assignee_json(conversation),
                "agent_last_seen_at": None,
                "assignee_last_seen_at": None,
            },
            "payload": messages[-PAGE_SIZE:],
        }

    def _last_activity(self, conversation: Conversation) -> int:
        if conversation.messages:
            return int(conversation.messages[-1]["created_at"])
        return conversation.created_at

    def _conversation_json(self, conversation: Conversation) -> dict[str, Any]:
        """One conversation as Chatwoot's conversation partial renders it in the list."""
        last = conversation.messages[-1] if conversation.messages else None
        non_activity = [m for m in conversation.messages if m["message_type"] != 2]
        replies = [
            m for m in conversation.messages if m["message_type"] == OUTGOING and not m["private"]
        ]
        meta: dict[str, Any] = {
            "sender": {**conversation.contact, "type": "contact"},
            "channel": "Channel::Api",
            "hmac_verified": False,
        }
        assignee = self._assignee_json(conversation)
        if assignee is not None:
            meta["assignee"] = assignee
        activity = self._last_activity(conversation)
        return {
            "meta": meta,
            "id": conversation.id,
            "messages": [last] if last else [],
            "account_id": self.account_id,
            "uuid": f"00000000-0000-4000-8000-{conversation.id:012d}",
            "additional_attributes": {},
            "agent_last_seen_at": 0,
            "assignee_last_seen_at": 0,
            "can_reply": conversation.can_reply,
            "contact_last_seen_at": 0,
            "custom_attributes": {},
            "inbox_id": self.inbox_id,
            "labels": [],
            "muted": False,
            "snoozed_until": None,
            "status": conversation.status,
            "created_at": conversation.created_at,
            "updated_at": float(activity),
            "timestamp": activity,
            "first_reply_created_at": int(replies[0]["created_at"]) if replies else 0,
            "unread_count": 0,
            "last_non_activity_message": non_activity[-1] if non_activity else None,
            "last_activity_at": activity,
            "priority": None,
            "waiting_since": conversation.waiting_since,
            "sla_policy_id": None,
        }
