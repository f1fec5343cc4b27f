"""A local Chatwoot (Application API) for tests and the demo, with switchable outages.

It answers what the bot uses, in Chatwoot's own shapes (its jbuilder views):

- ``POST/GET /api/v1/accounts/{a}/conversations/{c}/messages``: create a message (the message
  object) / the latest 20 messages, or 20 ``before`` an id (``{"meta": ..., "payload": [...]}``)
- ``GET /api/v1/accounts/{a}/conversations?status=&page=``: 25 conversations a page, most
  recently active first, each with its last message, ``meta.sender`` and ``waiting_since``
  (set by a customer's message, cleared by an agent's public reply), under
  ``{"data": {"meta": {…_count}, "payload": [...]}}``
- ``GET /api/v1/accounts/{a}/portals/{slug}/articles?status=&page=``: a Help Center portal's
  articles, 25 a page (``{"payload": [...], "meta": {"current_page", "articles_count"}}``)
- ``GET /api/v1/accounts/{a}/agents``: the agents list
- ``POST /api/v1/accounts/{a}/conversations/{c}/assignments``: the assigned agent, or ``null``
  when the id is no agent of the account (Chatwoot then leaves the conversation unassigned)
- ``GET /api/v1/profile``: the token owner

The ``api_access_token`` header must carry the configured token (else 401 ``{"error": "Invalid
Access Token"}``) and the account must be the configured one. Conversations are created on
first use unless ``auto_create=False`` (then unknown ones get 404).

Outages: :meth:`down` answers every request with one status, :meth:`hang` holds requests (a
held POST still lands once released, like a slow server), :meth:`fail_after_commit` stores the
next message and then answers 500, :meth:`rate_limit` answers the next requests 429 as
Chatwoot's Rack::Attack does (``Retry later``, no Retry-After). :meth:`up` ends them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from bot.demo.standins.server import Standin

DEFAULT_TOKEN = "cw-occ-standin"
PAGE_SIZE = 20
CONVERSATIONS_PAGE = 25
ARTICLES_PAGE = 25  # Kaminari's default page, as Article.search pages the Help Center
INCOMING, OUTGOING = 0, 1
MESSAGE_TYPES = {"incoming": INCOMING, "outgoing": OUTGOING}


@dataclass(frozen=True)
class ChatwootAgent:
    id: int
    name: str
    email: str
    role: str = "agent"  # or "administrator"
    availability_status: str = "online"
    confirmed: bool = True


@dataclass(frozen=True)
class Recorded:
    """One request as the stand-in received it, with the status it answered."""

    method: str
    path: str
    body: Any
    at: float
    status: int


@dataclass
class _Conversation:
    id: int
    contact: dict[str, Any]
    messages: list[dict[str, Any]] = field(default_factory=list)
    assignee_id: int | None = None
    assignments: list[int | None] = field(default_factory=list)
    status: str = "open"
    can_reply: bool = True  # False: the channel's reply window is closed (WhatsApp's 24 h)
    created_at: int = 0
    waiting_since: int = 0  # 0 when no customer message waits for an agent (Chatwoot's to_i)
    # The inbox's channel, and whether the contact was identified with Chatwoot's identity
    # validation (an HMAC of their identifier): only then, or on an email inbox, does Chatwoot
    # vouch for the contact's email address.
    channel: str = "Channel::Api"
    hmac_verified: bool = False


class _NotFound(Exception):
    pass


Handler = Callable[[Request, Any], Awaitable[Response]]


class ChatwootStandin(Standin):
    """Chatwoot's API on 127.0.0.1 for one account.

    Args:
        token: the accepted ``api_access_token``.
        account_id: the one account it serves.
        agents: the account's agents; the first is the token's owner and the sender of the
            messages the API creates.
        inbox_id: the inbox every conversation is in.
        agent_bot: the inbox has an active agent bot, so a conversation a customer starts
            waits as ``pending``, not ``open`` (Chatwoot's
            ``Conversation#determine_conversation_status``; docs/real-services.md).
        inbox_members: agents who are members of the inbox. A token owner who is no
            administrator lists only the conversations of inboxes they are a member of
            (``Conversations::PermissionFilterService``).
        auto_create: create unknown conversations on first use instead of answering 404.
        clock: seconds since the epoch, for ``created_at``.
        limit_concurrency, log_level: passed to the server.
    """

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        account_id: int = 1,
        agents: Iterable[ChatwootAgent] = (
            ChatwootAgent(1, "OCC Bot", "occ-bot@example.com", role="administrator"),
        ),
        inbox_id: int = 1,
        agent_bot: bool = False,
        inbox_members: Iterable[int] = (),
        auto_create: bool = True,
        clock: Callable[[], float] = time.time,
        limit_concurrency: int | None = None,
        log_level: str | int | None = None,
    ) -> None:
        super().__init__(limit_concurrency=limit_concurrency, log_level=log_level)
        self.token = token
        self.account_id = account_id
        self.agents = list(agents)
        if not self.agents:
            raise ValueError("a Chatwoot account needs at least one agent (the token owner)")
        self.inbox_id = inbox_id
        self.agent_bot = agent_bot
        self.inbox_members = set(inbox_members)
        self.auto_create = auto_create
        self.portals: dict[str, list[dict[str, Any]]] = {}  # Help Center: slug -> articles
        self._clock = clock
        self._conversations: dict[int, _Conversation] = {}
        self._requests: list[Recorded] = []
        self._next_message_id = 1000
        self._down: tuple[int, int | None] | None = None
        self._hang_seconds = 0.0
        self._release = asyncio.Event()
        self._fail_after_commit = 0
        self._rate_limited = 0
        self.held = 0
        """Requests being held by :meth:`hang` right now."""

    # -- outages -------------------------------------------------------------------------------

    def down(self, status: int = 503, *, retry_after: int | None = None) -> None:
        """Answer every request with ``status`` (and ``Retry-After`` if given)."""
        self._down = (status, retry_after)

    def hang(self, seconds: float) -> None:
        """Hold each request for up to ``seconds`` before answering it (released by up())."""
        self._hang_seconds = seconds
        if self._release.is_set():  # keep the event requests already held are waiting on
            self._release = asyncio.Event()

    def fail_after_commit(self, times: int = 1) -> None:
        """Store the next ``times`` created messages, then answer 500 for each."""
        self._fail_after_commit = times

    def rate_limit(self, requests: int = 1) -> None:
        """Answer the next ``requests`` requests 429 ``Retry later``, as Rack::Attack does."""
        self._rate_limited = requests

    def up(self) -> None:
        """Back to normal; held requests go on at once."""
        self._down = None
        self._hang_seconds = 0.0
        self._fail_after_commit = 0
        self._rate_limited = 0
        self._release.set()

    async def stop(self) -> None:
        self._release.set()  # held requests must not keep the server from stopping
        await super().stop()

    # -- seeding and inspection ----------------------------------------------------------------

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
        conversation = self._conversation(conversation_id, create=True)
        conversation.contact.update(name=contact_name, email=contact_email)
        if channel is not None:
            conversation.channel = channel
        if hmac_verified is not None:
            conversation.hmac_verified = hmac_verified
        sender = {**conversation.contact, "type": "contact"}
        return self._store_message(
            conversation, content, INCOMING, private=False, sender=sender, created_at=created_at
        )

    def add_article(
        self, portal: str, title: str, content: str, *, status: str = "published"
    ) -> dict[str, Any]:
        """A Help Center article in a portal (created if new), shaped as Chatwoot lists it."""
        articles = self.portals.setdefault(portal, [])
        article = {
            "id": 9000 + sum(len(a) for a in self.portals.values()),
            "category_id": 1,
            "title": title,
            "content": content,
            "description": None,
            "status": status,
            "account_id": self.account_id,
            "updated_at": int(time.time()),
            "views": 0,
            "associated_articles": [],
        }
        articles.append(article)
        return article

    def edit_article(self, portal: str, article_id: int, **changes: Any) -> None:
        """Change an article (its content, its status) as an agent would in the portal."""
        [article] = [a for a in self.portals[portal] if a["id"] == article_id]
        article.update(changes, updated_at=article["updated_at"] + 1)

    def resolve(self, conversation_id: int) -> None:
        """An agent resolved the conversation in Chatwoot: it no longer waits."""
        conversation = self._conversation(conversation_id, create=False)
        conversation.status, conversation.waiting_since = "resolved", 0

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

    def requests(self, method: str | None = None) -> list[Recorded]:
        """Every request received, oldest first; only those of an HTTP method if given."""
        return [r for r in self._requests if method is None or r.method == method]

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

    # -- HTTP ----------------------------------------------------------------------------------

    def build_app(self) -> ASGIApp:
        account = "/api/v1/accounts/{account_id}"
        conversation = account + "/conversations/{conversation_id:int}"
        return Starlette(
            routes=[
                Route("/api/v1/profile", self._wrap(self._profile, account=False)),
                Route(account + "/agents", self._wrap(self._agents)),
                Route(account + "/conversations", self._wrap(self._conversation_list)),
                Route(
                    account + "/portals/{portal}/articles", self._wrap(self._help_center_articles)
                ),
                Route(
                    conversation + "/messages",
                    self._wrap(self._messages_endpoint),
                    methods=["GET", "POST"],
                ),
                Route(conversation + "/assignments", self._wrap(self._assign), methods=["POST"]),
                Route(conversation, self._wrap(self._conversation_show)),
            ]
        )

    def _wrap(
        self, handler: Handler, *, account: bool = True
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            at = self._clock()
            body: Any = None
            response: Response = PlainTextResponse("Internal Server Error", status_code=500)
            try:
                body = await _json_body(request)
                response = await self._answer(request, body, handler, account)
            finally:
                self._requests.append(
                    Recorded(request.method, request.url.path, body, at, response.status_code)
                )
            return response

        return endpoint

    async def _answer(
        self, request: Request, body: Any, handler: Handler, account: bool
    ) -> Response:
        if self._hang_seconds > 0:
            self.held += 1
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._release.wait(), timeout=self._hang_seconds)
            finally:
                self.held -= 1
        if self._rate_limited > 0:
            self._rate_limited -= 1
            return PlainTextResponse("Retry later\n", status_code=429)
        if self._down is not None:
            status, retry_after = self._down
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
            return PlainTextResponse(HTTPStatus(status).phrase, status_code=status, headers=headers)
        if request.headers.get("api_access_token") != self.token:
            return JSONResponse({"error": "Invalid Access Token"}, status_code=401)
        if account and request.path_params.get("account_id") != str(self.account_id):
            return JSONResponse(
                {"error": "You are not authorized to access this account"}, status_code=401
            )
        try:
            return await handler(request, body)
        except _NotFound:
            return JSONResponse({"error": "Resource could not be found"}, status_code=404)

    async def _profile(self, request: Request, body: Any) -> Response:
        owner = self.agents[0]
        return JSONResponse(
            {
                "id": owner.id,
                "name": owner.name,
                "available_name": owner.name,
                "display_name": owner.name,
                "email": owner.email,
                "account_id": self.account_id,
                "role": owner.role,
                "confirmed": owner.confirmed,
                "avatar_url": "",
                "accounts": [
                    {
                        "id": self.account_id,
                        "name": "OCC Stand-in",
                        "status": "active",
                        "role": owner.role,
                        "availability_status": owner.availability_status,
                        "auto_offline": True,
                    }
                ],
            }
        )

    async def _agents(self, request: Request, body: Any) -> Response:
        return JSONResponse([self._agent_json(agent) for agent in self.agents])

    async def _help_center_articles(self, request: Request, body: Any) -> Response:
        """A portal's articles as Chatwoot's ArticlesController#index lists them: filtered by
        ``status``, ``ARTICLES_PAGE`` a page; an unknown portal slug is a 404."""
        portal = request.path_params["portal"]
        if portal not in self.portals:
            return JSONResponse({"error": "Resource could not be found"}, status_code=404)
        status = request.query_params.get("status")
        page = request.query_params.get("page", "1")
        number = int(page) if page.isdigit() and int(page) > 0 else 1
        listed = [a for a in self.portals[portal] if status is None or a["status"] == status]
        start = (number - 1) * ARTICLES_PAGE
        return JSONResponse(
            {
                "payload": listed[start : start + ARTICLES_PAGE],
                "meta": {"current_page": str(number), "articles_count": len(listed)},
            }
        )

    async def _conversation_list(self, request: Request, body: Any) -> Response:
        status = request.query_params.get("status", "open")
        page = request.query_params.get("page", "1")
        number = int(page) if page.isdigit() and int(page) > 0 else 1
        owner = self.agents[0]
        if owner.role != "administrator" and owner.id not in self.inbox_members:
            listed = []  # an agent sees only their own inboxes' conversations
        else:
            listed = [
                c for c in self._conversations.values() if status == "all" or c.status == status
            ]
        listed.sort(key=lambda c: (-self._last_activity(c), -c.id))
        start = (number - 1) * CONVERSATIONS_PAGE
        counts = {"mine_count": 0, "assigned_count": 0, "unassigned_count": 0}
        for conversation in listed:
            key = "assigned_count" if conversation.assignee_id else "unassigned_count"
            counts[key] += 1
        return JSONResponse(
            {
                "data": {
                    "meta": {**counts, "all_count": len(listed)},
                    "payload": [
                        self._conversation_json(c)
                        for c in listed[start : start + CONVERSATIONS_PAGE]
                    ],
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
        conversation.assignee_id = agent.id if agent else None
        conversation.assignments.append(conversation.assignee_id)
        return JSONResponse(self._agent_json(agent) if agent else None)

    # -- state ---------------------------------------------------------------------------------

    def _conversation(self, conversation_id: int, *, create: bool) -> _Conversation:
        conversation = self._conversations.get(conversation_id)
        if conversation is None:
            if not create:
                raise _NotFound
            conversation = _Conversation(
                id=conversation_id,
                contact={"id": 500 + conversation_id, "name": "Customer", "email": None},
                created_at=int(self._clock()),
            )
            self._conversations[conversation_id] = conversation
        return conversation

    def _store_message(
        self,
        conversation: _Conversation,
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
        answered = dict(message)
        if message_type == OUTGOING and not private and not conversation.can_reply:
            message["status"] = "failed"  # the channel's send job fails after the answer
            message["content_attributes"] = {
                **message["content_attributes"],
                "external_error": "Message failed to send: the 24-hour reply window is closed",
            }
        if message_type == INCOMING and not conversation.waiting_since:
            conversation.waiting_since = message["created_at"]
            conversation.status = "pending" if self.agent_bot else "open"
        elif message_type == OUTGOING and not private and sender.get("type") == "user":
            conversation.waiting_since = 0  # a human reply: nobody waits any more
        return answered

    def _message_list(self, conversation: _Conversation, before: str | None) -> dict[str, Any]:
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

    def _last_activity(self, conversation: _Conversation) -> int:
        if conversation.messages:
            return int(conversation.messages[-1]["created_at"])
        return conversation.created_at

    def _conversation_json(self, conversation: _Conversation) -> dict[str, Any]:
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

    def _assignee_json(self, conversation: _Conversation) -> dict[str, Any] | None:
        agent = next((a for a in self.agents if a.id == conversation.assignee_id), None)
        return self._agent_json(agent) if agent else None

    def _agent_json(self, agent: ChatwootAgent) -> dict[str, Any]:
        return {
            "id": agent.id,
            "account_id": self.account_id,
            "availability_status": agent.availability_status,
            "auto_offline": True,
            "confirmed": agent.confirmed,
            "email": agent.email,
            "provider": "email",
            "available_name": agent.name,
            "name": agent.name,
            "role": agent.role,
            "thumbnail": "",
        }

    @staticmethod
    def _sender_json(agent: ChatwootAgent) -> dict[str, Any]:
        return {
            "id": agent.id,
            "name": agent.name,
            "available_name": agent.name,
            "avatar_url": "",
            "type": "user",
            "availability_status": agent.availability_status,
            "thumbnail": "",
        }


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _type_name(message_type: int) -> str:
    return {INCOMING: "incoming", OUTGOING: "outgoing", 2: "activity", 3: "template"}.get(
        message_type, str(message_type)
    )
