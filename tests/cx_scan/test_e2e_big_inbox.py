"""The CX scan over a big inbox: it reads Chatwoot's list longest wait first and stops at the
first conversation within the SLA, so it cards every breach with only the pages that hold
them, whatever the server's page size."""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from bot.demo.standins.chatwoot import ChatwootStandin
from bot.jobs import JOBS
from tests.conftest import AGENTS
from tests.harness import BotUnderTest, settings_for

MINUTE = 60
AGENT = AGENTS[1].id  # a person in Chatwoot, not occ-bot's own agent


@pytest.fixture
async def small_pages() -> AsyncIterator[ChatwootStandin]:
    """A Chatwoot whose installation sets CONVERSATION_RESULTS_PER_PAGE=20."""
    async with ChatwootStandin(agents=AGENTS, conversations_per_page=20) as standin:
        yield standin


@asynccontextmanager
async def bot_on(chatwoot: ChatwootStandin, database_url: str, slack, clock):
    instance = await BotUnderTest(settings_for(database_url, slack, chatwoot), clock).start()
    try:
        yield instance
    finally:
        await instance.stop()


@pytest.fixture
async def scanner(sqlite_url, slack, small_pages, clock) -> AsyncIterator[BotUnderTest]:
    async with bot_on(small_pages, sqlite_url, slack, clock) as instance:
        yield instance


def customer_waits(chatwoot: ChatwootStandin, conversation_id: int, minutes: float) -> None:
    """A customer's message left unanswered for ``minutes``."""
    chatwoot.add_incoming(
        conversation_id,
        f"Where is my order? (conversation {conversation_id})",
        contact_name=f"Customer {conversation_id}",
        created_at=int(time.time() - minutes * MINUTE),
    )


def answered(chatwoot: ChatwootStandin, conversation_id: int, minutes: float) -> None:
    """A customer who wrote ``minutes`` ago and was answered by an agent a minute later."""
    customer_waits(chatwoot, conversation_id, minutes)
    chatwoot.agent_replies(
        conversation_id, "On it!", AGENT, created_at=int(time.time() - (minutes - 1) * MINUTE)
    )


def big_inbox(chatwoot: ChatwootStandin, size: int, breaches: int, seed: int) -> set[int]:
    """``size`` open conversations, their ids and activity shuffled: ``breaches`` customers
    waiting 61 minutes to 3 days, a third waiting less than the SLA, the rest answered (some
    long ago, some a moment ago). Returns the breached conversations."""
    rng = random.Random(seed)
    ids = rng.sample(range(10_000, 10_000 + 5 * size), size)
    breached = set(ids[:breaches])
    for n, conversation in enumerate(ids):
        if conversation in breached:
            customer_waits(chatwoot, conversation, rng.uniform(61, 3 * 24 * 60))
        elif n % 3 == 0:
            customer_waits(chatwoot, conversation, rng.uniform(0, 59))
        else:
            answered(chatwoot, conversation, rng.uniform(2, 3 * 24 * 60))
    return breached


async def scan(bot: BotUnderTest) -> str:
    said = await JOBS["cx-scan"].run(bot.services)
    await bot.settle()
    return said


async def waits(bot: BotUnderTest) -> dict[int, int]:
    """The conversations carded as CX breaches, each with its wait in minutes."""
    entries = [e for e in await bot.store.entries() if e.action == "cx.sla_breached"]
    return {
        (await bot.store.get_draft(e.subject_id)).input.conversation_id: int(
            e.payload["waited_seconds"] // MINUTE
        )
        for e in entries
    }


async def carded(bot: BotUnderTest) -> list[int]:
    """The conversations carded as CX breaches."""
    return sorted(await waits(bot))


def list_pages(chatwoot: ChatwootStandin, status: str) -> int:
    return sum(
        1
        for r in chatwoot.requests("GET")
        if r.path.endswith("/conversations") and f"status={status}" in r.query
    )


def message_reads(chatwoot: ChatwootStandin) -> int:
    return sum(1 for r in chatwoot.requests("GET") if r.path.endswith("/messages"))


async def test_every_breach_among_2000_conversations_is_carded_from_only_the_pages_holding_them(
    scanner: BotUnderTest, small_pages: ChatwootStandin
):
    breached = big_inbox(small_pages, size=2000, breaches=37, seed=21)

    said = await scan(scanner)

    assert await carded(scanner) == sorted(breached)
    # 37 breaches at 20 a page: pages 1 and 2, where the 38th conversation ends the read
    assert list_pages(small_pages, "open") == 2
    assert list_pages(small_pages, "pending") == 1  # none pending: one empty page
    assert message_reads(small_pages) == len(breached)  # only breaches' messages are read
    assert said.startswith("37 breached conversations (3 pages")


@pytest.mark.parametrize(("breaches", "pages"), [(0, 1), (19, 1), (20, 2), (39, 2), (40, 3)])
async def test_the_scan_stops_at_the_first_conversation_within_the_sla(
    scanner: BotUnderTest, small_pages: ChatwootStandin, breaches: int, pages: int
):
    for n in range(breaches):
        customer_waits(small_pages, 500 + n, 61 + n)
    for n in range(45):
        customer_waits(small_pages, 600 + n, 59 - n)  # within the SLA, every page after

    await scan(scanner)

    assert await carded(scanner) == list(range(500, 500 + breaches))
    assert list_pages(small_pages, "open") == pages


async def test_the_servers_page_size_is_read_not_assumed(tmp_path, slack, clock, chatwoot):
    """The default 25 a page, and an installation's 7: every breach either way, each read
    to the page holding its stop (a reader ending at a page shorter than 25 would have read
    only the first 7)."""
    async with ChatwootStandin(agents=AGENTS, conversations_per_page=7) as seven:
        read = {}
        for standin in (chatwoot, seven):
            for n in range(30):
                customer_waits(standin, 700 + n, 90 + n)
            customer_waits(standin, 800, 10)
            size = standin.conversations_per_page
            async with bot_on(standin, f"sqlite:///{tmp_path}/{size}.db", slack, clock) as bot:
                await scan(bot)
                assert await carded(bot) == list(range(700, 730))
            read[size] = list_pages(standin, "open")
    assert read == {25: 2, 7: 5}


async def test_nobody_waiting_sorts_last_and_is_never_a_breach(
    scanner: BotUnderTest, small_pages: ChatwootStandin
):
    """Chatwoot clears waiting_since when a person or the inbox's agent bot answers, and the
    list puts those conversations last, however old: a breach is a waiting_since past the
    SLA, so the read ends before them and no message history makes them breaches."""
    for n in range(30):  # answered long ago: the oldest conversations of the inbox
        answered(small_pages, 900 + n, 3 * 24 * 60 - n)
    customer_waits(small_pages, 950, 180)
    small_pages.agent_bot_replies(950, "I'm the bot! Try our help center.")
    customer_waits(small_pages, 951, 180)  # answered, then the customer wrote again
    small_pages.agent_replies(951, "Looking into it.", AGENT, created_at=int(time.time() - 7200))
    customer_waits(small_pages, 951, 65)
    customer_waits(small_pages, 952, 75)
    customer_waits(small_pages, 953, 20)

    await scan(scanner)

    assert await waits(scanner) == {952: 75, 951: 65}  # 951 since its message after the reply
    assert list_pages(small_pages, "open") == 1


async def test_a_read_cut_short_by_its_page_bound_cards_what_it_read_and_says_so(
    sqlite_url, slack, clock
):
    """Customers handed over from the inbox's bot with old waits arrive faster than the scan
    reads (2 a page here): the bound, the pages Chatwoot's count needs plus one, ends the
    read visibly, and the next scan reads them all."""
    async with (
        ChatwootStandin(agents=AGENTS, conversations_per_page=2) as chatwoot,
        bot_on(chatwoot, sqlite_url, slack, clock) as bot,
    ):
        customer_waits(chatwoot, 1000, 600)
        customer_waits(chatwoot, 1001, 599)
        arrivals = iter(range(2000, 3000))

        def handed_over() -> None:  # 3 more breached customers before each page is answered
            for _ in range(3):
                customer_waits(chatwoot, next(arrivals), 300)

        chatwoot.while_listing(handed_over)
        said = await scan(bot)

        # pending, then open: 8 listed at its first page, so 4 pages + 1 for arrivals
        assert "cut short (stopped after 5 pages of 2 open conversations" in said
        assert await carded(bot) == [1000, 1001, *range(2000, 2008)]  # the longest waits
        [alert] = slack.messages_in("#occ-reliability")
        assert "CX scan stopped at its page bound" in alert["text"]

        chatwoot.while_listing(None)
        said = await scan(bot)

        assert "cut short" not in said
        assert await carded(bot) == [1000, 1001, *range(2000, 2018)]  # 6 pages' arrivals
        recovered = slack.messages_in("#occ-reliability")[1]["text"]
        assert "reads every breach in Chatwoot again" in recovered
        logged = [e.action for e in await bot.store.entries(subject_id="cx-scan")]
        assert logged == ["reliability.alert", "reliability.recovered"]


async def test_a_breach_shifted_past_a_page_while_agents_answer_is_carded_by_the_next_scan(
    scanner: BotUnderTest, small_pages: ChatwootStandin
):
    """The list is paged by offset: an agent answering an earlier wait between two pages
    moves every later conversation up one, so the first of the next page is read by neither.
    It is still waiting, so the next scan cards it (docs/limits.md)."""
    for n in range(30):
        customer_waits(small_pages, 1100 + n, 300 - n)
    customer_waits(small_pages, 1200, 5)
    reads = iter(range(100))

    def agent_answers_the_oldest() -> None:
        if next(reads) == 2:  # before the second page of open conversations
            small_pages.agent_replies(1100, "Sorry for the wait!", AGENT)

    small_pages.while_listing(agent_answers_the_oldest)
    await scan(scanner)
    small_pages.while_listing(None)

    first = await carded(scanner)
    assert 1120 not in first and len(first) == 29  # read by neither page
    await scan(scanner)
    assert await carded(scanner) == list(range(1100, 1130))
