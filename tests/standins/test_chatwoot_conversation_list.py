"""The Chatwoot stand-in's conversation list answers as Chatwoot's ConversationFinder does:
its sort options, its page size and ``page`` parsing, and its counts (docs/real-services.md,
section 14)."""

from __future__ import annotations

import time
from typing import Any

import httpx

from bot.demo.standins.chatwoot import ChatwootAgent, ChatwootStandin

NOW = int(time.time())
OWNER = ChatwootAgent(1, "OCC Bot", "occ-bot@example.com", role="administrator")
PERSON = ChatwootAgent(7, "Olivia Operator", "olivia@example.com")


async def listed(standin: ChatwootStandin, **params: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=standin.url) as http:
        answer = await http.get(
            f"/api/v1/accounts/{standin.account_id}/conversations",
            params=params,
            headers={"api_access_token": standin.token},
        )
    assert answer.status_code == 200
    return answer.json()["data"]


def ids(data: dict[str, Any]) -> list[int]:
    return [c["id"] for c in data["payload"]]


def seed(standin: ChatwootStandin) -> None:
    """1: waits 3 h; 2: answered (created 5 h ago, the oldest); 3: waits 1 h, active last;
    4: waits 3 h too, created after 1; 5: waits 2 h, answered by the inbox's agent bot."""
    standin.add_incoming(1, "a", created_at=NOW - 3 * 3600)
    standin.add_incoming(2, "b", created_at=NOW - 5 * 3600)
    standin.agent_replies(2, "answered", PERSON.id, created_at=NOW - 4 * 3600)
    standin.add_incoming(3, "c", created_at=NOW - 3600)
    standin.add_incoming(4, "d", created_at=NOW - 3 * 3600)
    standin.add_incoming(5, "e", created_at=NOW - 2 * 3600)
    standin.agent_bot_replies(5, "I'm a bot", created_at=NOW - 2 * 3600 + 5)
    standin.add_incoming(3, "c again", created_at=NOW - 60)  # still the same wait


async def test_waiting_since_asc_puts_the_longest_wait_first_and_nobody_waiting_last():
    async with ChatwootStandin(agents=[OWNER, PERSON]) as standin:
        seed(standin)
        oldest_first = await listed(standin, sort_by="waiting_since_asc")
        newest_first = await listed(standin, sort_by="waiting_since_desc")
        legacy = await listed(standin, sort_by="sort_on_waiting_since")
        by_activity = await listed(standin)
        unknown = await listed(standin, sort_by="longest")

    # 1 and 4 wait since the same second: created_at, then (the stand-in's) id
    assert ids(oldest_first) == [1, 4, 3, 2, 5]
    assert [c["waiting_since"] for c in oldest_first["payload"]][-2:] == [0, 0]
    assert ids(newest_first) == [3, 1, 4, 2, 5]  # NULL last in both directions
    assert ids(legacy) == ids(oldest_first)
    assert ids(by_activity) == [3, 5, 4, 1, 2] == ids(unknown)  # last_activity_at_desc


async def test_pages_hold_the_installations_page_size_and_page_is_read_as_ruby_does():
    async with ChatwootStandin(agents=[OWNER, PERSON], conversations_per_page=2) as standin:
        seed(standin)
        pages = [
            await listed(standin, sort_by="waiting_since_asc", page=p)
            for p in ("1", "2", "3", "4", "0", "abc", "2nd")
        ]
    assert [ids(p) for p in pages] == [[1, 4], [3, 2], [5], [], [1, 4], [1, 4], [3, 2]]
    assert {p["meta"]["all_count"] for p in pages} == {5}  # a page past the end still counts


async def test_counts_are_of_the_status_before_assignee_type_narrows_the_list():
    async with ChatwootStandin(agents=[OWNER, PERSON]) as standin:
        seed(standin)
        standin.resolve(2)
        standin.assigned_event(1, OWNER.id)
        standin.assigned_event(3, PERSON.id)
        everyone = await listed(standin, status="open", assignee_type="all")
        mine = await listed(standin, status="open", assignee_type="me")
        unassigned = await listed(standin, status="open", assignee_type="unassigned")
        resolved = await listed(standin, status="resolved")

    counts = {"mine_count": 1, "assigned_count": 2, "unassigned_count": 2, "all_count": 4}
    assert everyone["meta"] == mine["meta"] == unassigned["meta"] == counts
    assert ids(mine) == [1] and sorted(ids(unassigned)) == [4, 5]
    assert ids(resolved) == [2] and resolved["meta"]["all_count"] == 1


async def test_a_reply_ends_the_wait_a_private_note_does_not_and_a_new_message_starts_one():
    async with ChatwootStandin(agents=[OWNER, PERSON]) as standin:
        standin.add_incoming(1, "hello", created_at=NOW - 600)
        standin.add_incoming(1, "anyone?", created_at=NOW - 300)
        first = (await listed(standin))["payload"][0]["waiting_since"]
        async with httpx.AsyncClient(base_url=standin.url) as http:
            await http.post(
                f"/api/v1/accounts/{standin.account_id}/conversations/1/messages",
                json={"content": "checking", "message_type": "outgoing", "private": True},
                headers={"api_access_token": standin.token},
            )
        after_note = (await listed(standin))["payload"][0]["waiting_since"]
        standin.agent_bot_replies(1, "I'm a bot")
        after_bot = (await listed(standin))["payload"][0]["waiting_since"]
        standin.add_incoming(1, "a person please", created_at=NOW - 10)
        again = (await listed(standin))["payload"][0]["waiting_since"]

    assert (first, after_note, after_bot, again) == (NOW - 600, NOW - 600, 0, NOW - 10)
