"""ChatwootClient against httpx.MockTransport: the wire format and the typed errors."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from bot.integrations.chatwoot import (
    ChatwootClient,
    ChatwootError,
    ChatwootRejected,
    ChatwootTimeout,
    ChatwootUnavailable,
)

BASE = "https://chat.example.com"
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


class Recorder:
    """A MockTransport handler: answers in order (the last one repeats), keeps the requests."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def client(self, **kwargs: Any) -> ChatwootClient:
        return ChatwootClient(BASE, TOKEN, 7, transport=httpx.MockTransport(self), **kwargs)


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


def listing(*messages: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json={"meta": {"labels": []}, "payload": list(messages)})


async def test_send_reply_posts_an_outgoing_public_text_message() -> None:
    rec = Recorder(httpx.Response(200, json=CREATED))
    async with rec.client() as client:
        created = await client.send_reply(29, "Hi Susan!")

    request = rec.requests[0]
    assert request.method == "POST"
    assert str(request.url) == BASE + MESSAGES
    assert request.headers["api_access_token"] == TOKEN
    assert json.loads(request.content) == {
        "content": "Hi Susan!",
        "message_type": "outgoing",
        "private": False,
        "content_type": "text",
    }
    assert created == CREATED


async def test_private_note_is_the_same_call_marked_private() -> None:
    rec = Recorder(httpx.Response(200, json={**CREATED, "private": True}))
    async with rec.client() as client:
        note = await client.add_private_note(29, "Escalated to managers")
    body = json.loads(rec.requests[0].content)
    assert body["private"] is True and body["message_type"] == "outgoing"
    assert rec.requests[0].url.path == MESSAGES
    assert note["private"] is True


async def test_list_messages_returns_the_payload_and_pages_with_before() -> None:
    rec = Recorder(listing(msg(1, type_=0, content="hello"), msg(2)))
    async with rec.client() as client:
        first = await client.list_messages(29)
        await client.list_messages(29, before=1)
    assert [m["id"] for m in first] == [1, 2]
    assert first[0]["message_type"] == 0
    assert rec.requests[0].method == "GET" and "before" not in rec.requests[0].url.params
    assert rec.requests[1].url.params["before"] == "1"


async def test_list_messages_refuses_an_answer_without_payload() -> None:
    rec = Recorder(httpx.Response(200, json={"meta": {}}))
    async with rec.client() as client:
        with pytest.raises(ChatwootRejected):
            await client.list_messages(29)


async def test_find_sent_reply_matches_only_public_outgoing_same_text_since() -> None:
    since = 1_700_000_000
    wanted = msg(14, content="Your order shipped.", at=since + 5)
    rec = Recorder(
        listing(
            msg(10, content="Your order shipped.", at=since - 1),  # too old
            msg(11, type_=0, content="Your order shipped.", at=since + 1),  # incoming
            msg(12, private=True, content="Your order shipped.", at=since + 2),  # private note
            msg(13, content="Your order shipped!", at=since + 3),  # other text
            wanted,
            msg(15, type_=2, content="Conversation was assigned", at=since + 6),
        )
    )
    async with rec.client() as client:
        assert await client.find_sent_reply(29, "Your order shipped.", since_unix=since) == wanted
        assert await client.find_sent_reply(29, "Something else", since_unix=since) is None


async def test_find_sent_reply_ignores_a_match_older_than_since() -> None:
    rec = Recorder(listing(msg(10, content="Same", at=99)))
    async with rec.client() as client:
        assert await client.find_sent_reply(29, "Same", since_unix=100) is None


async def test_find_sent_reply_looks_at_older_pages_while_they_are_recent() -> None:
    since = 1_700_000_000
    newer = [msg(100 + i, type_=0, content="customer", at=since + 100 + i) for i in range(20)]
    older = [msg(90, content="The reply", at=since + 10)]
    rec = Recorder(listing(*newer), listing(*older))
    async with rec.client() as client:
        found = await client.find_sent_reply(29, "The reply", since_unix=since)
    assert found is not None and found["id"] == 90
    assert rec.requests[1].url.params["before"] == "100"


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
    rec = Recorder(httpx.Response(200, json=agents))
    async with rec.client() as client:
        assert (await client.find_agent_by_email("Lee@Example.COM"))["id"] == 4
        assert await client.find_agent_by_email("nobody@example.com") is None
    assert rec.requests[0].url.path == "/api/v1/accounts/7/agents"


async def test_assign_posts_the_assignee() -> None:
    rec = Recorder(httpx.Response(200, json={"id": 3, "name": "Dana"}))
    async with rec.client() as client:
        await client.assign(29, 3)
    request = rec.requests[0]
    assert request.method == "POST"
    assert request.url.path == "/api/v1/accounts/7/conversations/29/assignments"
    assert json.loads(request.content) == {"assignee_id": 3}


async def test_assign_to_someone_outside_the_account_is_rejected() -> None:
    # Chatwoot answers null and leaves the conversation unassigned.
    rec = Recorder(
        httpx.Response(200, content=b"null", headers={"content-type": "application/json"})
    )
    async with rec.client() as client:
        with pytest.raises(ChatwootRejected, match="unassigned"):
            await client.assign(29, 999)


async def test_conversation_url_points_at_the_agent_ui() -> None:
    async with ChatwootClient(BASE + "/", TOKEN, "7") as client:
        assert client.conversation_url(29) == f"{BASE}/app/accounts/7/conversations/29"


async def test_connect_error_is_unavailable_and_a_post_is_not_retried() -> None:
    rec = Recorder(httpx.ConnectError("connection refused"))
    async with rec.client() as client:
        with pytest.raises(ChatwootUnavailable) as caught:
            await client.send_reply(29, "hi")
    assert caught.value.transient is True
    assert caught.value.outcome_unknown is False  # nothing reached Chatwoot
    assert len(rec.requests) == 1


async def test_a_get_is_retried_once_after_a_connect_error() -> None:
    rec = Recorder(httpx.ConnectError("connection refused"), listing(msg(1)))
    async with rec.client() as client:
        assert [m["id"] for m in await client.list_messages(29)] == [1]
    assert len(rec.requests) == 2


async def test_a_get_gives_up_after_the_second_connect_error() -> None:
    rec = Recorder(httpx.ConnectError("connection refused"))
    async with rec.client() as client:
        with pytest.raises(ChatwootUnavailable):
            await client.ping()
    assert len(rec.requests) == 2


async def test_read_timeout_on_a_post_is_a_timeout_with_unknown_outcome() -> None:
    rec = Recorder(httpx.ReadTimeout("timed out"))
    async with rec.client() as client:
        with pytest.raises(ChatwootTimeout) as caught:
            await client.send_reply(29, "hi")
    assert caught.value.transient is True
    assert caught.value.outcome_unknown is True
    assert len(rec.requests) == 1


async def test_server_error_is_unavailable_and_may_have_committed() -> None:
    rec = Recorder(httpx.Response(500, json={"status": 500, "error": "Internal Server Error"}))
    async with rec.client() as client:
        with pytest.raises(ChatwootUnavailable) as caught:
            await client.send_reply(29, "hi")
    assert caught.value.status == 500
    assert caught.value.outcome_unknown is True
    assert "Internal Server Error" in str(caught.value)
    assert len(rec.requests) == 1


async def test_503_with_retry_after_carries_the_wait() -> None:
    rec = Recorder(httpx.Response(503, text="Service Unavailable", headers={"Retry-After": "7"}))
    async with rec.client() as client:
        with pytest.raises(ChatwootUnavailable) as caught:
            await client.send_reply(29, "hi")
    assert caught.value.retry_after == 7.0
    assert caught.value.status == 503


async def test_retry_after_as_an_http_date_becomes_seconds() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(minutes=2), usegmt=True)
    rec = Recorder(httpx.Response(503, headers={"Retry-After": later}))
    async with rec.client() as client:
        with pytest.raises(ChatwootUnavailable) as caught:
            await client.ping()
    assert caught.value.retry_after is not None and 0 < caught.value.retry_after <= 120


async def test_429_is_transient_and_was_not_processed() -> None:
    rec = Recorder(httpx.Response(429, text="Retry later", headers={"Retry-After": "30"}))
    async with rec.client() as client:
        with pytest.raises(ChatwootUnavailable) as caught:
            await client.send_reply(29, "hi")
    assert caught.value.transient is True
    assert caught.value.outcome_unknown is False
    assert caught.value.retry_after == 30.0


async def test_bad_token_is_rejected_permanently() -> None:
    rec = Recorder(httpx.Response(401, json={"error": "Invalid Access Token"}))
    async with rec.client() as client:
        with pytest.raises(ChatwootRejected) as caught:
            await client.send_reply(29, "hi")
    assert caught.value.transient is False
    assert caught.value.status == 401
    assert "Invalid Access Token" in caught.value.detail


async def test_unknown_conversation_is_rejected() -> None:
    rec = Recorder(httpx.Response(404, json={"error": "Resource could not be found"}))
    async with rec.client() as client:
        with pytest.raises(ChatwootRejected) as caught:
            await client.list_messages(404404)
    assert caught.value.status == 404
    assert isinstance(caught.value, ChatwootError)


async def test_a_redirect_is_rejected_with_where_it_points() -> None:
    rec = Recorder(httpx.Response(301, headers={"Location": "https://chat.example.com/x"}))
    async with rec.client() as client:
        with pytest.raises(
            ChatwootRejected, match=re.escape("redirected to https://chat.example.com/x")
        ):
            await client.ping()


async def test_a_non_json_success_is_rejected() -> None:
    rec = Recorder(httpx.Response(200, text="<html>login</html>"))
    async with rec.client() as client:
        with pytest.raises(ChatwootRejected, match="not JSON"):
            await client.ping()
