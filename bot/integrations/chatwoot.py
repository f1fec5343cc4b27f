"""Chatwoot Application API client: send replies and notes, read messages and conversations,
find and assign agents.

Every request carries ``api_access_token: <token>`` and goes under
``/api/v1/accounts/{account_id}/``. Failures surface as typed exceptions:

    ChatwootError                 base: .transient, .detail, .status, .outcome_unknown
    ├── ChatwootUnavailable       transient: cannot connect, HTTP 5xx, HTTP 429 (.retry_after)
    ├── ChatwootTimeout           transient: sent, but no answer in time
    └── ChatwootRejected          permanent: HTTP 4xx other than 429 (401 token, 404 conversation,
                                  422 payload), a redirect, or an answer that is not Chatwoot's

A POST is never retried here: creating a message is not idempotent. When ``outcome_unknown``
is set (a timeout, a 5xx, a dropped connection after the request went out) the message may
exist anyway; search for it with :meth:`ChatwootClient.find_sent_reply` before sending again.
A GET is retried once when the connection could not be made.

The client speaks HTTP through aiohttp (already installed for slack_sdk) rather than httpx:
under 50 concurrent requests httpx spends about 1.2 ms of CPU per request in its connection
pool, aiohttp about 0.1 ms, and every approval makes three Chatwoot calls (README, Benchmarks).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any, Literal

import aiohttp

from bot.domain import ConversationLine
from bot.integrations.chatwoot_answers import (
    Answer,
    ChatwootRejected,
    ChatwootTimeout,
    ChatwootUnavailable,
    decode,
    describe,
)
from bot.integrations.chatwoot_pages import (
    ConversationPage,
    ListCutShort,
    WaitingRead,
    longest_waiting,
    pages,
)

log = logging.getLogger("occ.chatwoot")

PAGE_SIZE = 20  # Chatwoot's MessageFinder returns the latest 20 messages, or 20 before an id
ARTICLES_PAGE = 25  # Article.search pages with Kaminari's default
MAX_PAGES = 10  # how far back find_sent_reply looks
AGENTS_TTL = 300.0  # seconds the agents list is kept by find_agent_by_email
INCOMING, OUTGOING = 0, 1  # message_type integers: 2 is activity, 3 template

HttpMethod = Literal["GET", "POST"]


class ChatwootClient:
    """One account of one Chatwoot installation, over a single pooled HTTP session.

    Args:
        base_url: the installation, e.g. ``https://app.chatwoot.com``.
        api_token: an agent's access token (Profile settings → Access token).
        account_id: the account the conversations belong to.
        timeout: seconds to connect (waiting for a pooled connection included) and seconds
            to wait for each read.
        connector: the aiohttp connector to use (tests give one with their own resolver);
            by default a new pooled TCP connector, created with the session on first use.
    """

    def __init__(
        self,
        base_url: str,
        api_token: str,
        account_id: int | str,
        *,
        timeout: float = 10.0,
        connector: aiohttp.BaseConnector | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.account_id = str(account_id)
        self._headers = {"api_access_token": api_token, "Accept": "application/json"}
        self._timeout = aiohttp.ClientTimeout(total=None, connect=timeout, sock_read=timeout)
        self._connector = connector
        self._session: aiohttp.ClientSession | None = None
        self._agents_cache: tuple[float, list[dict[str, Any]]] | None = None
        self._own_agent_id: int | None = None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
        elif self._connector is not None:
            await self._connector.close()

    async def __aenter__(self) -> ChatwootClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- messages ---------------------------------------------------------------------------

    async def send_reply(self, conversation_id: int, content: str) -> dict[str, Any]:
        """Post a public outgoing message (the customer sees it); returns Chatwoot's message."""
        return await self._create_message(conversation_id, content, private=False)

    async def can_reply(self, conversation_id: int) -> bool:
        """Whether the conversation's channel takes a reply now (``can_reply``: false once
        WhatsApp's 24-hour window has closed; a reply sent anyway fails to deliver after
        Chatwoot has answered 200)."""
        body = await self._request("GET", f"{self._account_path}/conversations/{conversation_id}")
        return not (isinstance(body, dict) and body.get("can_reply") is False)

    async def add_private_note(self, conversation_id: int, content: str) -> dict[str, Any]:
        """Post a private note, seen by agents only."""
        return await self._create_message(conversation_id, content, private=True)

    async def list_messages(
        self, conversation_id: int, *, before: int | None = None
    ) -> list[dict[str, Any]]:
        """The latest messages of a conversation, oldest first (Chatwoot pages by 20).

        Args:
            conversation_id: the conversation's display id.
            before: only messages with a smaller id (the previous page).
        """
        params = {"before": before} if before is not None else None
        body = await self._request("GET", self._messages_path(conversation_id), params=params)
        payload = body.get("payload") if isinstance(body, dict) else None
        if not isinstance(payload, list):
            raise ChatwootRejected("messages answer has no payload list")
        return payload

    async def find_sent_reply(
        self, conversation_id: int, content: str, *, since_unix: int
    ) -> dict[str, Any] | None:
        """The public outgoing message with exactly this content created at or after since_unix.

        Used after an unknown outcome, so that a retry does not send the reply twice.
        """
        return await self._find_outgoing(
            conversation_id,
            lambda message: (
                message.get("private") is not True and message.get("content") == content
            ),
            since_unix=since_unix,
        )

    async def find_private_note(
        self, conversation_id: int, marker: str, *, since_unix: int
    ) -> dict[str, Any] | None:
        """The private note containing ``marker`` created at or after since_unix (as
        `find_sent_reply`, for notes)."""
        return await self._find_outgoing(
            conversation_id,
            lambda message: (
                message.get("private") is True and marker in str(message.get("content") or "")
            ),
            since_unix=since_unix,
        )

    async def _find_outgoing(
        self,
        conversation_id: int,
        matches: Callable[[dict[str, Any]], bool],
        *,
        since_unix: int,
    ) -> dict[str, Any] | None:
        """The newest outgoing message since ``since_unix`` that ``matches``, paging back; a
        message whose delivery failed is not one that was sent."""
        before: int | None = None
        for _ in range(MAX_PAGES):
            page = await self.list_messages(conversation_id, before=before)
            for message in reversed(page):
                delivered = message.get("status") != "failed"
                if _is_outgoing_since(message, since_unix) and delivered and matches(message):
                    return message
            created = [m.get("created_at") for m in page if isinstance(m.get("created_at"), int)]
            ids = [m["id"] for m in page if isinstance(m.get("id"), int)]
            if len(page) < PAGE_SIZE or not ids or (created and min(created) < since_unix):
                return None
            before = min(ids)
        return None

    # -- conversations ----------------------------------------------------------------------

    async def list_conversations(
        self, *, status: str = "open", page: int = 1, sort_by: str | None = None
    ) -> ConversationPage:
        """One page of the account's conversations with this status (everyone's), each with
        its last message, ``meta.sender`` and ``waiting_since``, and ``meta.all_count``: how
        many the whole list holds.

        Args:
            status: ``open``, ``pending``, ``snoozed``, ``resolved`` or ``all``.
            page: from 1; the server decides how many a page holds
                (``CONVERSATION_RESULTS_PER_PAGE``, 25 unless the installation sets it).
            sort_by: one of ConversationFinder's sort options; by default the most
                recently active first.
        """
        params: dict[str, Any] = {"status": status, "assignee_type": "all", "page": page}
        if sort_by is not None:
            params["sort_by"] = sort_by
        body = await self._request("GET", f"{self._account_path}/conversations", params=params)
        data = body.get("data") if isinstance(body, dict) else None
        payload = data.get("payload") if isinstance(data, dict) else None
        if not isinstance(payload, list):
            raise ChatwootRejected("conversations answer has no data.payload list")
        meta = data.get("meta") if isinstance(data, dict) else None
        count = meta.get("all_count") if isinstance(meta, dict) else None
        if isinstance(count, bool) or not isinstance(count, int):
            raise ChatwootRejected("conversations answer has no data.meta.all_count")
        return ConversationPage(
            [c for c in payload if isinstance(c, dict) and isinstance(c.get("id"), int)], count
        )

    async def conversations(
        self, *, status: str = "open", max_pages: int
    ) -> AsyncIterator[dict[str, Any]]:
        """Every conversation with this status, most recently active first, page after page
        until ``meta.all_count`` are read, reading at most ``max_pages`` pages (a bounded read:
        a warning says when the bound cut it short)."""
        try:
            async for page in pages(self, status=status, sort_by=None, max_pages=max_pages):
                for conversation in page.conversations:
                    yield conversation
        except ListCutShort as cut:
            log.warning("%s", cut)

    async def longest_waiting(
        self, status: str, keep: Callable[[dict[str, Any]], bool]
    ) -> WaitingRead:
        """This status's conversations whose customer has waited longest, oldest wait first,
        while ``keep`` takes them (`bot.integrations.chatwoot_pages.longest_waiting`)."""
        return await longest_waiting(self, status, keep)

    # -- help center ------------------------------------------------------------------------

    async def published_articles(self, portal: str, *, max_pages: int) -> list[dict[str, Any]]:
        """The published articles of a Help Center portal (by its slug), page after page
        (25 a page), reading at most ``max_pages``; raises `ChatwootError` on any failure, so
        that a half-read portal is never taken for the whole."""
        articles: list[dict[str, Any]] = []
        for page in range(1, max_pages + 1):
            body = await self._request(
                "GET",
                f"{self._account_path}/portals/{portal}/articles",
                params={"status": "published", "page": page},
            )
            payload = body.get("payload") if isinstance(body, dict) else None
            if not isinstance(payload, list):
                raise ChatwootRejected("articles answer has no payload list")
            articles += [a for a in payload if isinstance(a, dict)]
            if len(payload) < ARTICLES_PAGE:
                return articles
        raise ChatwootRejected(f"portal {portal} has more than {max_pages} pages of articles")

    # -- agents -----------------------------------------------------------------------------

    async def find_agent_by_email(self, email: str) -> dict[str, Any] | None:
        """The account's agent with this email (case-insensitive), or None.

        The agents list is kept for AGENTS_TTL seconds: every approval looks an agent up, and
        the list changes rarely.
        """
        wanted = email.strip().casefold()
        now = time.monotonic()
        if self._agents_cache is None or now - self._agents_cache[0] > AGENTS_TTL:
            self._agents_cache = (now, await self._agents())
        for agent in self._agents_cache[1]:
            if str(agent.get("email") or "").strip().casefold() == wanted:
                return agent
        return None

    async def assign(self, conversation_id: int, assignee_id: int) -> None:
        """Assign the conversation to an agent of the account."""
        path = f"{self._account_path}/conversations/{conversation_id}/assignments"
        body = await self._request("POST", path, json={"assignee_id": assignee_id})
        if body is None:
            # Chatwoot answers null when the id is no agent of the account, and clears the
            # conversation's assignee.
            raise ChatwootRejected(
                f"agent {assignee_id} is not in account {self.account_id}; "
                f"conversation {conversation_id} is now unassigned"
            )

    async def ping(self) -> None:
        """Check the URL, the token and the account with one cheap authenticated GET."""
        await self._agents()

    async def role(self) -> tuple[str, str]:
        """The token owner's name and role in the account (``GET /api/v1/profile``: the
        ``accounts`` entry of this account, not the top-level role, which is the owner's most
        recently active account's)."""
        body = await self._profile()
        for account in body.get("accounts") or []:
            if isinstance(account, dict) and str(account.get("id")) == str(self.account_id):
                return str(body.get("name") or body.get("email")), str(account.get("role"))
        raise ChatwootRejected(f"the token's owner is not a member of account {self.account_id}")

    async def own_agent_id(self) -> int:
        """The agent id of the token's owner: occ-bot's own agent, whose name its messages and
        assignments carry (``GET /api/v1/profile``'s ``id``, the number webhooks show as
        ``sender.id`` and ``meta.assignee.id``; read once, as the token's owner never changes)."""
        if self._own_agent_id is None:
            agent_id = (await self._profile()).get("id")
            if isinstance(agent_id, bool) or not isinstance(agent_id, int):
                raise ChatwootRejected("profile answer has no agent id")
            self._own_agent_id = agent_id
        return self._own_agent_id

    async def _profile(self) -> dict[str, Any]:
        body = await self._request("GET", "/api/v1/profile")
        if not isinstance(body, dict):
            raise ChatwootRejected("profile answer is not an object")
        return body

    def conversation_url(self, conversation_id: int) -> str:
        """The conversation in Chatwoot's agent UI."""
        return f"{self.base_url}/app/accounts/{self.account_id}/conversations/{conversation_id}"

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def _account_path(self) -> str:
        return f"/api/v1/accounts/{self.account_id}"

    def _messages_path(self, conversation_id: int) -> str:
        return f"{self._account_path}/conversations/{conversation_id}/messages"

    async def _create_message(
        self, conversation_id: int, content: str, *, private: bool
    ) -> dict[str, Any]:
        body = await self._request(
            "POST",
            self._messages_path(conversation_id),
            json={
                "content": content,
                "message_type": "outgoing",
                "private": private,
                "content_type": "text",
            },
        )
        if not isinstance(body, dict) or "id" not in body:
            raise ChatwootRejected("message answer is not a message")
        return body

    async def _agents(self) -> list[dict[str, Any]]:
        body = await self._request("GET", f"{self._account_path}/agents")
        if not isinstance(body, list):
            raise ChatwootRejected("agents answer is not a list")
        return [agent for agent in body if isinstance(agent, dict)]

    async def _request(
        self,
        method: HttpMethod,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """Send one request and return the decoded JSON body, or raise a ChatwootError."""
        writes = method != "GET"
        attempts = 1 if writes else 2
        query = {key: str(value) for key, value in params.items()} if params else None
        for attempt in range(1, attempts + 1):
            try:
                async with self._http().request(
                    method, self.base_url + path, json=json, params=query, allow_redirects=False
                ) as response:
                    body = await response.read()
                    answer = Answer(response.status, response.reason or "", response.headers, body)
            except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
                # no connection was made, so nothing was sent
                if attempt < attempts:
                    continue
                raise ChatwootUnavailable(f"cannot reach Chatwoot: {describe(exc)}") from exc
            except TimeoutError as exc:
                raise ChatwootTimeout(
                    f"no answer from Chatwoot in time: {describe(exc)}", outcome_unknown=writes
                ) from exc
            except aiohttp.ClientError as exc:
                raise ChatwootUnavailable(
                    f"connection to Chatwoot failed: {describe(exc)}", outcome_unknown=writes
                ) from exc
            return decode(answer, writes=writes)
        raise AssertionError("unreachable")  # the loop either returns or raises

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers=self._headers, timeout=self._timeout, connector=self._connector
            )
        return self._session


def _is_outgoing_since(message: dict[str, Any], since_unix: int) -> bool:
    created = message.get("created_at")
    return (
        message.get("message_type") in (OUTGOING, "outgoing")
        and isinstance(created, int | float)
        and created >= since_unix
    )


def conversation_lines(messages: list[dict[str, Any]]) -> list[ConversationLine]:
    """The conversation as the customer saw it: incoming and public outgoing messages."""
    lines = []
    for message in messages:
        kind, text, at = (
            message.get("message_type"),
            message.get("content"),
            message.get("created_at"),
        )
        if kind not in (INCOMING, OUTGOING) or message.get("private") is True:
            continue
        if not isinstance(text, str) or not text.strip() or not isinstance(at, int):
            continue
        sender = message.get("sender") if isinstance(message.get("sender"), dict) else {}
        author = sender.get("name") if isinstance(sender.get("name"), str) else None
        lines.append(
            ConversationLine(
                from_customer=kind == INCOMING,
                author=author,
                text=text,
                at=datetime.fromtimestamp(at, UTC),
            )
        )
    return lines
