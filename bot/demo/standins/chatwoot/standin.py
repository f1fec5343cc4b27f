"""`ChatwootStandin`: the Chatwoot stand-in's server. It routes the API's paths to their
handlers, checks the token and the account, plays the outages a test set, and records every
request with the status it answered.

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
from http import HTTPStatus
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from bot.demo.standins.chatwoot.conversation_list import PER_PAGE
from bot.demo.standins.chatwoot.conversations import Conversations
from bot.demo.standins.chatwoot.help_center import HelpCenter
from bot.demo.standins.chatwoot.model import ChatwootAgent, NotFound, Recorded
from bot.demo.standins.chatwoot.webhooks import Webhooks
from bot.demo.standins.server import Standin

DEFAULT_TOKEN = "cw-occ-standin"

Handler = Callable[[Request, Any], Awaitable[Response]]


class ChatwootStandin(Conversations, Webhooks, HelpCenter, Standin):
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
        conversations_per_page: the installation's ``CONVERSATION_RESULTS_PER_PAGE``: how many
            conversations a page of the list holds (25 unless set).
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
        conversations_per_page: int = PER_PAGE,
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
        if conversations_per_page < 1:
            raise ValueError("a page of conversations holds at least one")
        self.conversations_per_page = conversations_per_page
        self._on_list = None
        self.portals = {}  # Help Center: slug -> articles
        self._clock = clock
        self._conversations = {}
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

    def while_listing(self, change: Callable[[], None] | None) -> None:
        """Run ``change`` just before each conversation list is answered: what happens in
        Chatwoot while a client reads the list page by page (None: nothing)."""
        self._on_list = change

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

    def requests(self, method: str | None = None) -> list[Recorded]:
        """Every request received, oldest first; only those of an HTTP method if given."""
        return [r for r in self._requests if method is None or r.method == method]

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
                    Recorded(
                        request.method,
                        request.url.path,
                        body,
                        at,
                        response.status_code,
                        request.url.query,
                    )
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
        except NotFound:
            return JSONResponse({"error": "Resource could not be found"}, status_code=404)


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None
