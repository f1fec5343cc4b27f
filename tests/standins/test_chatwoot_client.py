"""ChatwootClient against a scripted loopback server: the wire format and the typed errors."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import aiohttp
import pytest

from bot.integrations.chatwoot import ChatwootClient
from bot.integrations.chatwoot_answers import (
    ChatwootError,
    ChatwootRejected,
    ChatwootTimeout,
    ChatwootUnavailable,
)
from tests.scripted_http import DROP, HANG, RESET, Answer, Reply, Request, Resolver, ScriptedServer

HOST = "chat.example.test"
TOKEN = "tok-123"
MESSAGES = "/api/v1/accounts/7/conversations/29/messages"

# The shape of a real create-message answer (chatwoot/chatwoot#2067), with content filled in.
CREATED = {
    "id": 85,
    "content": "Hi Susan!",
    "inbox_id": 6,
    "conversation_id": 29,
    "message_type": 1,
    "content_type": "text",
    "content_attributes": {},
    "created_at": 1617862872,
    "private": False,
    "source_id": None,
    "sender": {
        "id": 1,
        "name": "Ops",
        "available_name": "Ops",
        "avatar_url": "",
        "type": "user",
        "availability_status": "online",
    },
}


@dataclass
class Line:
    """A client and the scripted Chatwoot it talks to."""

    client: ChatwootClient
    server: ScriptedServer
    resolver: Resolver

    @property
    def requests(self) -> list[Request]:
        return self.server.requests

    @property
    def connection_attempts(self) -> int:
        return self.resolver.lookups


@asynccontextmanager
async def chatwoot(*answers: Answer, refused: int = 0, timeout: float = 5.0) -> AsyncIterator[Line]:
    """A client for account 7 at http://chat.example.test, answered by ``answers`` in order.

    The first ``refused`` connection attempts go to a port nothing listens on.
    """
    async with ScriptedServer(*answers) as server:
        resolver = Resolver(server.port, refused=refused)
        connector = aiohttp.TCPConnector(resolver=resolver, use_dns_cache=False)
        client = ChatwootClient(f"http://{HOST}", TOKEN, 7, timeout=timeout, connector=connector)
        async with client:
            yield Line(client, server, resolver)


def msg(
    id_: int, *, type_: int = 1, private: bool = False, content: str = "x", at: int = 1_700_000_000
) -> dict[str, Any]:
    return {
        "id": id_,
        "content": content,
        "message_type": type_,
        "private": private,
        "created_at": at,
        "conversation_id": 29,
    }


def listing(*messages: dict[str, Any]) -> Reply:
    return Reply.json(200, {"meta": {"labels": []}, "payload": list(messages)})


async def test_send_reply_posts_an_outgoing_public_text_message() -> None:
    async with chatwoot(Reply.json(200, CREATED)) as line:
        created = await line.client.send_reply(29, "Hi Susan!")

    request = line.requests[0]
    assert (request.method, request.path) == ("POST", MESSAGES)
    assert request.headers["host"] == HOST
    assert request.headers["api_access_token"] == TOKEN
    assert request.headers["content-type"].startswith("application/json")
    assert request.json() == {
        "content": "Hi Susan!",
        "message_type": "outgoing",
        "private": False,
        "content_type": "text",
    }
    assert created == CREATED


async def test_private_note_is_the_same_call_marked_private() -> None:
    async with chatwoot(Reply.json(200, {**CREATED, "private": True})) as line:
        note = await line.client.add_private_note(29, "Escalated to managers")
    body = line.requests[0].json()
    assert body["private"] is True and body["message_type"] == "outgoing"
    assert line.requests[0].path == MESSAGES
    assert note["private"] is True


async def test_list_messages_returns_the_payload_and_pages_with_before() -> None:
    async with chatwoot(listing(msg(1, type_=0, content="hello"), msg(2))) as line:
        first = await line.client.list_messages(29)
        await line.client.list_messages(29, before=1)
    assert [m["id"] for m in first] == [1, 2]
    assert first[0]["message_type"] == 0
    assert line.requests[0].method == "GET" and line.requests[0].query == {}
    assert line.requests[1].query == {"before": "1"}


def conversations(*ids: int, all_count: int = 30, waits: list[int] | None = None) -> Reply:
    """The list as Chatwoot's conversations index.json.jbuilder renders it (trimmed)."""
    since = waits or [1_700_000_000] * len(ids)
    payload = [
        {"id": i, "status": "open", "waiting_since": w} for i, w in zip(ids, since, strict=True)
    ]
    meta = {
        "mine_count": 0,
        "assigned_count": 0,
        "unassigned_count": all_count,
        "all_count": all_count,
    }
    return Reply.json(200, {"data": {"meta": meta, "payload": payload}})


async def test_list_conversations_asks_for_one_page_of_open_conversations_of_everyone() -> None:
    async with chatwoot(conversations(7, 8), conversations()) as line:
        first = await line.client.list_conversations(page=2)
        await line.client.list_conversations(status="pending", sort_by="waiting_since_asc")

    assert [c["id"] for c in first.conversations] == [7, 8] and first.all_count == 30
    request = line.requests[0]
    assert (request.method, request.path) == ("GET", "/api/v1/accounts/7/conversations")
    assert request.query == {"status": "open", "assignee_type": "all", "page": "2"}
    assert line.requests[1].query == {
        "status": "pending",
        "assignee_type": "all",
        "page": "1",
        "sort_by": "waiting_since_asc",
    }


async def test_list_conversations_refuses_an_answer_that_is_not_chatwoots() -> None:
    async with chatwoot(Reply.json(200, {"payload": []})) as line:
        with pytest.raises(ChatwootRejected, match=r"data\.payload"):
            await line.client.list_conversations()
    no_count = Reply.json(200, {"data": {"meta": {}, "payload": []}})
    async with chatwoot(no_count) as line:
        with pytest.raises(ChatwootRejected, match=r"all_count"):
            await line.client.list_conversations()


async def test_paging_takes_the_servers_page_size_and_stops_on_its_count() -> None:
    """CONVERSATION_RESULTS_PER_PAGE=2 here: three pages cover the five conversations."""
    pages = [conversations(1, 2, all_count=5), conversations(3, 4, all_count=5)]
    async with chatwoot(*pages, conversations(5, all_count=5)) as line:
        listed = [c["id"] async for c in line.client.conversations(max_pages=40)]
    assert listed == [1, 2, 3, 4, 5]
    assert [r.query["page"] for r in line.requests] == ["1", "2", "3"]


async def test_a_list_that_grows_past_its_page_bound_is_cut_short_and_says_so() -> None:
    """4 listed at 2 a page needs 2 pages; one more is allowed for arrivals, then it stops."""
    old = 1_700_000_000
    pages = [conversations(n, n + 1, all_count=n + 3, waits=[old, old]) for n in (1, 3, 5, 7)]
    async with chatwoot(*pages) as line:
        read = await line.client.longest_waiting("open", keep=lambda c: True)
    assert [c["id"] for c in read.conversations] == [1, 2, 3, 4, 5, 6]
    assert read.pages == 3 and len(line.requests) == 3
    assert read.cut_short is not None and "3 pages of 2" in read.cut_short


async def test_longest_waiting_stops_at_the_first_conversation_keep_refuses() -> None:
    waits = [100, 200, 300]
    async with chatwoot(conversations(1, 2, 3, all_count=9, waits=waits)) as line:
        read = await line.client.longest_waiting("open", keep=lambda c: c["waiting_since"] < 300)
    assert [c["id"] for c in read.conversations] == [1, 2]
    assert read.pages == 1 and read.cut_short is None and len(line.requests) == 1
    assert line.requests[0].query["sort_by"] == "waiting_since_asc"


async def test_a_list_not_in_waiting_order_is_refused_rather_than_trusted() -> None:
    """A Chatwoot before 3.4 ignores sort_by=waiting_since_asc and lists the most recently
    active first: stopping at its first recent wait would miss every older one."""
    most_recent_first = conversations(1, 2, 3, all_count=3, waits=[300, 0, 100])
    async with chatwoot(most_recent_first) as line:
        with pytest.raises(ChatwootRejected, match="longest wait first"):
            await line.client.longest_waiting("open", keep=lambda c: False)


async def test_rack_attacks_429_is_a_transient_failure_without_a_retry_after() -> None:
    async with chatwoot(Reply.text(429, "Retry later\n")) as line:
        with pytest.raises(ChatwootUnavailable) as caught:
            await line.client.list_conversations()
    assert caught.value.transient and caught.value.status == 429


async def test_list_messages_refuses_an_answer_without_payload() -> None:
    async with chatwoot(Reply.json(200, {"meta": {}})) as line:
        with pytest.raises(ChatwootRejected):
            await line.client.list_messages(29)


async def test_find_sent_reply_matches_only_public_outgoing_same_text_since() -> None:
    since = 1_700_000_000
    wanted = msg(14, content="Your order shipped.", at=since + 5)
    page = listing(
        msg(10, content="Your order shipped.", at=since - 1),  # too old
        msg(11, type_=0, content="Your order shipped.", at=since + 1),  # incoming
        msg(12, private=True, content="Your order shipped.", at=since + 2),  # private note
        msg(13, content="Your order shipped!", at=since + 3),  # other text
        wanted,
        msg(15, type_=2, content="Conversation was assigned", at=since + 6),
    )
    async with chatwoot(page) as line:
        found = await line.client.find_sent_reply(29, "Your order shipped.", since_unix=since)
        assert found == wanted
        assert await line.client.find_sent_reply(29, "Something else", since_unix=since) is None


async def test_find_sent_reply_ignores_a_match_older_than_since() -> None:
    async with chatwoot(listing(msg(10, content="Same", at=99))) as line:
        assert await line.client.find_sent_reply(29, "Same", since_unix=100) is None


async def test_find_sent_reply_looks_at_older_pages_while_they_are_recent() -> None:
    since = 1_700_000_000
    newer = [msg(100 + i, type_=0, content="customer", at=since + 100 + i) for i in range(20)]
    older = [msg(90, content="The reply", at=since + 10)]
    async with chatwoot(listing(*newer), listing(*older)) as line:
        found = await line.client.find_sent_reply(29, "The reply", since_unix=since)
    assert found is not None and found["id"] == 90
    assert line.requests[1].query == {"before": "100"}


async def test_find_agent_by_email_is_case_insensitive() -> None:
    agents = [
        {
            "id": 3,
            "name": "Dana",
            "email": "dana@example.com",
            "role": "agent",
            "availability_status": "online",
            "confirmed": True,
        },
        {
            "id": 4,
            "name": "Lee",
            "email": "lee@example.com",
            "role": "administrator",
            "availability_status": "busy",
            "confirmed": True,
        },
    ]
    async with chatwoot(Reply.json(200, agents)) as line:
        assert (await line.client.find_agent_by_email("Lee@Example.COM"))["id"] == 4
        assert await line.client.find_agent_by_email("nobody@example.com") is None
    assert [r.path for r in line.requests] == ["/api/v1/accounts/7/agents"]  # kept, not re-read


async def test_assign_posts_the_assignee() -> None:
    async with chatwoot(Reply.json(200, {"id": 3, "name": "Dana"})) as line:
        await line.client.assign(29, 3)
    request = line.requests[0]
    assert request.method == "POST"
    assert request.path == "/api/v1/accounts/7/conversations/29/assignments"
    assert request.json() == {"assignee_id": 3}


async def test_assign_to_someone_outside_the_account_is_rejected() -> None:
    # Chatwoot answers null and leaves the conversation unassigned.
    async with chatwoot(Reply.json(200, None)) as line:
        with pytest.raises(ChatwootRejected, match="unassigned"):
            await line.client.assign(29, 999)


async def test_conversation_url_points_at_the_agent_ui() -> None:
    async with ChatwootClient("https://chat.example.com/", TOKEN, "7") as client:
        url = client.conversation_url(29)
    assert url == "https://chat.example.com/app/accounts/7/conversations/29"


async def test_connect_error_is_unavailable_and_a_post_is_not_retried() -> None:
    async with chatwoot(Reply.json(200, CREATED), refused=2) as line:
        with pytest.raises(ChatwootUnavailable, match="cannot reach Chatwoot") as caught:
            await line.client.send_reply(29, "hi")
    assert caught.value.transient is True
    assert caught.value.outcome_unknown is False  # nothing reached Chatwoot
    assert line.connection_attempts == 1
    assert line.requests == []


async def test_a_get_is_retried_once_after_a_connect_error() -> None:
    async with chatwoot(listing(msg(1)), refused=1) as line:
        assert [m["id"] for m in await line.client.list_messages(29)] == [1]
    assert line.connection_attempts == 2
    assert len(line.requests) == 1


async def test_a_get_gives_up_after_the_second_connect_error() -> None:
    async with chatwoot(Reply.json(200, []), refused=2) as line:
        with pytest.raises(ChatwootUnavailable):
            await line.client.ping()
    assert line.connection_attempts == 2
    assert line.requests == []


async def test_read_timeout_on_a_post_is_a_timeout_with_unknown_outcome() -> None:
    async with chatwoot(HANG, timeout=0.2) as line:
        with pytest.raises(ChatwootTimeout) as caught:
            await line.client.send_reply(29, "hi")
    assert caught.value.transient is True
    assert caught.value.outcome_unknown is True
    assert len(line.requests) == 1


async def test_a_connection_dropped_after_a_post_may_have_committed() -> None:
    async with chatwoot(DROP) as line:
        with pytest.raises(ChatwootUnavailable, match="connection to Chatwoot failed") as caught:
            await line.client.send_reply(29, "hi")
    assert caught.value.outcome_unknown is True  # the retry must look for it before resending
    assert len(line.requests) == 1


async def test_a_connection_reset_after_a_post_may_have_committed() -> None:
    async with chatwoot(RESET) as line:
        with pytest.raises(ChatwootUnavailable, match="connection to Chatwoot failed") as caught:
            await line.client.send_reply(29, "hi")
    assert caught.value.outcome_unknown is True
    assert line.connection_attempts == 1 and len(line.requests) == 1


async def test_server_error_is_unavailable_and_may_have_committed() -> None:
    answer = Reply.json(500, {"status": 500, "error": "Internal Server Error"})
    async with chatwoot(answer) as line:
        with pytest.raises(ChatwootUnavailable) as caught:
            await line.client.send_reply(29, "hi")
    assert caught.value.status == 500
    assert caught.value.outcome_unknown is True
    assert "Internal Server Error" in str(caught.value)
    assert len(line.requests) == 1


async def test_503_with_retry_after_carries_the_wait() -> None:
    answer = Reply.text(503, "Service Unavailable", {"Retry-After": "7"})
    async with chatwoot(answer) as line:
        with pytest.raises(ChatwootUnavailable, match="Service Unavailable") as caught:
            await line.client.send_reply(29, "hi")
    assert caught.value.retry_after == 7.0
    assert caught.value.status == 503


async def test_retry_after_as_an_http_date_becomes_seconds() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(minutes=2), usegmt=True)
    async with chatwoot(Reply(503, headers={"Retry-After": later})) as line:
        with pytest.raises(ChatwootUnavailable) as caught:
            await line.client.ping()
    assert caught.value.retry_after is not None and 0 < caught.value.retry_after <= 120


async def test_429_is_transient_and_was_not_processed() -> None:
    async with chatwoot(Reply.text(429, "Retry later", {"Retry-After": "30"})) as line:
        with pytest.raises(ChatwootUnavailable) as caught:
            await line.client.send_reply(29, "hi")
    assert caught.value.transient is True
    assert caught.value.outcome_unknown is False
    assert caught.value.retry_after == 30.0


async def test_bad_token_is_rejected_permanently() -> None:
    async with chatwoot(Reply.json(401, {"error": "Invalid Access Token"})) as line:
        with pytest.raises(ChatwootRejected) as caught:
            await line.client.send_reply(29, "hi")
    assert caught.value.transient is False
    assert caught.value.status == 401
    assert "Invalid Access Token" in caught.value.detail


async def test_unknown_conversation_is_rejected() -> None:
    async with chatwoot(Reply.json(404, {"error": "Resource could not be found"})) as line:
        with pytest.raises(ChatwootRejected) as caught:
            await line.client.list_messages(404404)
    assert caught.value.status == 404
    assert isinstance(caught.value, ChatwootError)


async def test_a_redirect_is_rejected_with_where_it_points() -> None:
    answer = Reply(301, headers={"Location": "https://chat.example.com/x"})
    async with chatwoot(answer) as line:
        with pytest.raises(
            ChatwootRejected, match=re.escape("redirected to https://chat.example.com/x")
        ):
            await line.client.ping()
    assert len(line.requests) == 1  # not followed


async def test_a_non_json_success_is_rejected() -> None:
    async with chatwoot(Reply.text(200, "<html>login</html>")) as line:
        with pytest.raises(ChatwootRejected, match="not JSON"):
            await line.client.ping()
