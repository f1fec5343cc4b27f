"""The CX scan over a big inbox: 10,000 open conversations, a few hundred of them past the CX
SLA, against the scan as it was (the 40 most recently active pages of 25, then the pending
ones), measured in the same run.

The inbox is the Chatwoot stand-in (`bot/demo/standins/chatwoot/`, which lists, sorts and
pages as Chatwoot's ConversationFinder does, 25 a page) in a child process, so its CPU is
not the bot's; it counts the requests it answers. Its conversations, in shuffled order: the
breaches (customers waiting 61 minutes to 3 days), a fifth waiting less than the SLA, the
rest answered by an agent at some time in the last 3 days (nobody waiting).

Each run, on a fresh SQLite file with the Slack stand-in in this process and the offline
drafter (its knowledge base loaded before timing):

- **now**: `cx_scan.scan` (longest wait first, stopping at the first conversation within the
  SLA), until every card is in Slack; then a second scan, with every breach already carded:
  what each later scan period costs;
- **before**: the old read (40 pages of `status=open`, most recently active first, then the
  pending ones) and the same `card_breach` for each breach it found.

Reported: Chatwoot requests per scan (list pages, message reads), wall time, this process's
CPU time (the bot and the Slack stand-in), breaches carded and missed (every breach not
carded), and the load average. `python -m bench.cx_scan [--conversations N] [--breaches N]
[--runs R]`; `bench.run` runs it as a phase (`--skip cxscan`).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any

from bot.config import Settings
from bot.connect import join_channels
from bot.demo.standins.slack import DEFAULT_TOKEN as SLACK_TOKEN
from bot.demo.standins.slack import SlackStandin
from bot.flows import cx_scan
from bot.flows.intake import propose
from bot.rules.cx import breached
from bot.runtime.batch import each
from bot.services import Services, build_services

MINUTE = 60
OLD_MAX_PAGES = 40  # the scan's bound before: 1,000 conversations of 25 a page per status
OLD_STATUSES = ("open", "pending")
SEED = 21
AGENT_ID = 7


def seed_inbox(chatwoot: Any, conversations: int, breaches: int, seed: int = SEED) -> list[int]:
    """The inbox described above; returns the breached conversations' ids."""
    rng = random.Random(seed)
    now = time.time()
    ids = rng.sample(range(100_000, 100_000 + 10 * conversations), conversations)
    for n, conversation in enumerate(ids):
        if n < breaches:
            waited = rng.uniform(61, 3 * 24 * 60)
        elif n % 5 == 0:
            waited = rng.uniform(0, 59)
        else:
            waited = rng.uniform(2, 3 * 24 * 60)
        chatwoot.add_incoming(
            conversation,
            f"Where is my order? ({conversation})",
            contact_name=f"Customer {conversation}",
            created_at=int(now - waited * MINUTE),
        )
        if n >= breaches and n % 5 != 0:
            replied = int(now - (waited - rng.uniform(1, 2)) * MINUTE)
            chatwoot.agent_replies(conversation, "On it!", AGENT_ID, created_at=replied)
    return ids[:breaches]


def serve_inbox(conn: Connection, conversations: int, breaches: int) -> None:
    """Child process: the stand-in inbox; answers "counters" and "stop" on the pipe."""
    from bot.demo.standins.chatwoot import ChatwootAgent, ChatwootStandin

    async def main() -> None:
        agents = [
            ChatwootAgent(1, "OCC Bot", "occ-bot@example.com", role="administrator"),
            ChatwootAgent(AGENT_ID, "Olivia Operator", "olivia@example.com"),
        ]
        chatwoot = ChatwootStandin(agents=agents)
        breached_ids = seed_inbox(chatwoot, conversations, breaches)
        await chatwoot.start()
        conn.send(
            {"url": chatwoot.url, "token": chatwoot.token, "breached": breached_ids}
            | {"per_page": chatwoot.conversations_per_page}
        )
        loop = asyncio.get_running_loop()
        while True:
            message = await loop.run_in_executor(None, conn.recv)
            if message == "stop":
                break
            gets = chatwoot.requests("GET")
            conn.send(
                {
                    "lists": sum(1 for r in gets if r.path.endswith("/conversations")),
                    "messages": sum(1 for r in gets if r.path.endswith("/messages")),
                    "all": len(chatwoot.requests()),
                }
            )
        await chatwoot.stop()

    asyncio.run(main())


async def _old_scan(services: Services) -> str:
    """The scan before this change: most recently active first, at most 40 pages a status."""
    chatwoot = services.chatwoot
    assert chatwoot is not None
    now, sla = services.clock(), services.settings.cx_sla_minutes
    found: dict[str, Mapping[str, Any]] = {}
    for status in OLD_STATUSES:
        async for c in chatwoot.conversations(status=status, max_pages=OLD_MAX_PAGES):
            if breached(c, now, sla):
                found[str(c["id"])] = c
    tally = await each(
        list(found),
        lambda key: cx_scan.card_breach(services, chatwoot, found[key]),
        what="CX breach in",
    )
    return f"{len(found)} breached conversations; {tally.describe('cards')}"


async def _timed(services: Services, control: Connection, scan: Any) -> dict[str, Any]:
    control.send("counters")
    before = control.recv()
    started, cpu_started = time.perf_counter(), time.process_time()
    said = await scan(services)
    await services.background.drain(timeout=600)  # every card in Slack
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    control.send("counters")
    after = control.recv()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "list_requests": after["lists"] - before["lists"],
        "message_reads": after["messages"] - before["messages"],
        "requests": after["all"] - before["all"],
        "said": said,
    }


async def _cards(services: Services) -> set[int]:
    """The conversations carded as CX breaches."""
    carded = set()
    for entry in await services.store.entries():
        if entry.action != "cx.sla_breached":
            continue
        draft = await services.store.get_draft(entry.subject_id)
        if draft is not None:
            carded.add(draft.input.conversation_id)
    return carded


async def _one(
    inbox: dict[str, Any], control: Connection, slack: SlackStandin, db: str, old: bool
) -> dict[str, Any]:
    settings = Settings(
        _env_file=None,
        slack_bot_token=SLACK_TOKEN,
        slack_signing_secret="bench",
        slack_api_url=f"{slack.url}/api/",
        database_url=db,
        chatwoot_url=inbox["url"],
        chatwoot_api_token=inbox["token"],
        chatwoot_account_id="1",
    )
    services = await build_services(settings)
    try:
        await services.store.migrate()
        await join_channels(services)
        await propose(services, None, "warm-up")  # load the knowledge base before timing
        first = await _timed(services, control, _old_scan if old else cx_scan.scan)
        carded = await _cards(services)
        again = await _timed(services, control, _old_scan if old else cx_scan.scan)
    finally:
        await services.aclose()
    truth = set(inbox["breached"])
    return first | {
        "carded": len(carded & truth),
        "missed": len(truth - carded),
        "wrongly_carded": len(carded - truth),
        "again": again,
    }


async def measure(
    conversations: int = 10_000, breaches: int = 200, runs: int = 3
) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(
        target=serve_inbox, args=(child, conversations, breaches), daemon=True
    )
    process.start()
    try:
        for _ in range(300):  # seeding takes a few seconds; a crash ends the wait
            if parent.poll(1) or not process.is_alive():
                break
        if not parent.poll(0):
            raise RuntimeError("the Chatwoot stand-in did not start (see its output above)")
        inbox = parent.recv()
        results: dict[str, list[dict[str, Any]]] = {"now": [], "before": []}
        async with SlackStandin() as slack:
            with tempfile.TemporaryDirectory() as folder:
                for run in range(runs):
                    for name in ("now", "before"):  # interleaved: the same load for both
                        db = f"sqlite:///{folder}/{name}-{run}.db"
                        found = await _one(inbox, parent, slack, db, old=name == "before")
                        results[name].append(found)
                        print(
                            f"  cx scan {name} run {run + 1}/{runs}: {found['seconds']:.1f} s, "
                            f"{found['requests']} requests, {found['missed']} missed",
                            file=sys.stderr,
                        )
    finally:
        if process.is_alive():
            parent.send("stop")
            process.join(30)
        if process.is_alive():
            process.kill()
    return {
        "conversations": conversations,
        "breaches": breaches,
        "per_page": inbox["per_page"],
        "runs": results,
        "load_average": os.getloadavg(),
        "finished_at": datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def _median(runs: list[dict[str, Any]], key: str, nested: str | None = None) -> float:
    return statistics.median((r[nested] if nested else r)[key] for r in runs)


def markdown(found: dict[str, Any]) -> list[str]:
    now, before = found["runs"]["now"], found["runs"]["before"]
    load = ", ".join(f"{x:.1f}" for x in found["load_average"])

    def row(label: str, key: str, fmt: str, nested: str | None = None) -> str:
        new, old = _median(now, key, nested), _median(before, key, nested)
        return f"| {label} | {format(new, fmt)} | {format(old, fmt)} |"

    return [
        f"### 11. CX scan over {found['conversations']:,} open conversations, "
        f"{found['breaches']} past the SLA ({found['per_page']} a page; median of "
        f"{len(now)} runs; load average {load} at the end, `python -m bench.cx_scan`)",
        "",
        "| measure | now: longest wait first, stop at the SLA | before: 40 pages, most "
        "recently active first |",
        "| --- | --- | --- |",
        row("conversation list requests, first scan", "list_requests", ".0f"),
        row("message reads (one per breach carded)", "message_reads", ".0f"),
        row("breaches carded", "carded", ".0f"),
        row(f"breaches missed (of {found['breaches']})", "missed", ".0f"),
        row("scan → every card in Slack, s", "seconds", ".2f"),
        row("…CPU of the bot (and the Slack stand-in) in that time, s", "cpu_seconds", ".2f"),
        row("next scan, nothing new: Chatwoot requests", "requests", ".0f", "again"),
        row("…its wall time, s", "seconds", ".3f", "again"),
        "",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cx_scan", description=__doc__)
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--breaches", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    if not (1 <= args.breaches <= args.conversations <= 50_000 and 1 <= args.runs <= 9):
        parser.error("keep it bounded: 1 <= --breaches <= --conversations <= 50000, --runs 1..9")
    found = asyncio.run(measure(args.conversations, args.breaches, args.runs))
    print("\n".join(markdown(found)))


if __name__ == "__main__":
    main()
