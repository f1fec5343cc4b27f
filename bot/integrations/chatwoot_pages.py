"""Reading Chatwoot's conversation list page by page (``GET …/conversations``), bounded by
what the list says of itself.

Chatwoot's ``ConversationFinder`` pages with Kaminari: ``page`` from 1, each page holding
``CONVERSATION_RESULTS_PER_PAGE`` conversations (25 unless the installation sets it), and
every answer carries ``meta.all_count``, the conversations on all the pages of this list. So
a read learns the page size from the first page, stops once its pages cover the count (or
one comes back empty), and never reads more pages than the count needs at that size plus
`EXTRA_PAGES`: past that, the list grows faster than it is read or the server answers every
page alike, and the read says so (`ListCutShort`) instead of looping or stopping silently.

With ``sort_by=waiting_since_asc`` the list starts with the customer who has waited longest
and ends with every conversation nobody waits on (``(waiting_since IS NULL), waiting_since,
created_at``), so a reader after waits past a threshold can stop at the first one short of
it (`longest_waiting`). Sources: docs/real-services.md, section 14.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, Protocol

from bot.integrations.chatwoot_answers import ChatwootRejected

OLDEST_WAIT_FIRST = "waiting_since_asc"  # ConversationFinder's SORT_OPTIONS, Chatwoot 3.4+
EXTRA_PAGES = 1  # past the pages meta.all_count needs: conversations arriving during a read


@dataclass(frozen=True)
class ConversationPage:
    conversations: list[dict[str, Any]]
    all_count: int  # meta.all_count: the conversations on every page of this list


@dataclass(frozen=True)
class WaitingRead:
    """What `longest_waiting` read."""

    conversations: list[dict[str, Any]]  # the ones kept, longest wait first
    pages: int  # list requests made
    cut_short: str | None  # why the page bound ended the read before its stop, if it did


class ListCutShort(Exception):
    """The page bound ended a read of the conversation list before its end."""


class ConversationList(Protocol):
    """What a read needs of `bot.integrations.chatwoot.ChatwootClient`."""

    async def list_conversations(
        self, *, status: str = "open", page: int = 1, sort_by: str | None = None
    ) -> ConversationPage: ...


async def pages(
    client: ConversationList, *, status: str, sort_by: str | None, max_pages: int | None = None
) -> AsyncIterator[ConversationPage]:
    """The list's pages, until they cover ``meta.all_count`` or one comes back empty. Raises
    `ListCutShort` past ``max_pages``, or by default past the pages the first page's count
    needs at its size plus `EXTRA_PAGES`."""
    page = await client.list_conversations(status=status, page=1, sort_by=sort_by)
    yield page
    size = len(page.conversations)  # the server's page size, when more pages follow
    bound = max_pages or -(-page.all_count // max(size, 1)) + EXTRA_PAGES
    number = 1
    while page.conversations and number * size < page.all_count:
        if number >= bound:
            raise ListCutShort(
                f"stopped after {number} pages of {size} {status} conversations "
                f"while Chatwoot listed {page.all_count}"
            )
        number += 1
        page = await client.list_conversations(status=status, page=number, sort_by=sort_by)
        yield page


async def longest_waiting(
    client: ConversationList, status: str, keep: Callable[[dict[str, Any]], bool]
) -> WaitingRead:
    """The conversations with this status whose customer has waited longest, oldest wait
    first, read page by page while ``keep`` takes them: the first it refuses ends the read.

    Raises `ChatwootRejected` when a page is not in that order (a Chatwoot before 3.4 ignores
    the sort and lists the most recently active first): a read that stops early must not
    trust an order the server did not keep.
    """
    kept: list[dict[str, Any]] = []
    read = 0
    try:
        async with aclosing(pages(client, status=status, sort_by=OLDEST_WAIT_FIRST)) as listing:
            async for page in listing:
                read += 1
                waits = [_wait_order(c) for c in page.conversations]
                if waits != sorted(waits):
                    raise ChatwootRejected(
                        f"Chatwoot did not list the {status} conversations longest wait first "
                        f"(sort_by={OLDEST_WAIT_FIRST} needs Chatwoot 3.4 or later)"
                    )
                for conversation in page.conversations:
                    if not keep(conversation):
                        return WaitingRead(kept, read, cut_short=None)
                    kept.append(conversation)
    except ListCutShort as cut:
        return WaitingRead(kept, read, cut_short=str(cut))
    return WaitingRead(kept, read, cut_short=None)


def _wait_order(conversation: dict[str, Any]) -> tuple[bool, float]:
    """Where ``waiting_since_asc`` puts a conversation: by its wait, nobody waiting last (the
    JSON shows Chatwoot's NULL as 0)."""
    since = conversation.get("waiting_since")
    if isinstance(since, bool) or not isinstance(since, int | float) or since <= 0:
        return (True, 0.0)
    return (False, float(since))
