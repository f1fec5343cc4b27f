"""End-to-end approvals per second: N cards clicked, until every reply is sent and shown."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench import profile
from bench.occ import OccBot, click_request, draft_payload
from bench.procs import cpu_of_command, machine_cpu
from bench.standins_client import Standins
from bot.domain import Action, Draft

DONE_SECONDS = 60.0
DRAIN_SECONDS = 60.0


@dataclass
class Click:
    draft: Draft
    body: str
    headers: dict[str, str]
    sent_at: float = 0.0  # epoch seconds, just before the request went out
    ack_ms: float = 0.0
    status: int = 0


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


async def _click_all(url: str, clicks: list[Click], concurrency: int) -> None:
    limit = asyncio.Semaphore(concurrency)
    async with clicker(concurrency) as http:

        async def one(click: Click) -> None:
            async with limit:
                await send_click(http, url, click)

        await asyncio.gather(*(one(c) for c in clicks))


def clicker(connections: int) -> aiohttp.ClientSession:
    """The benchmark's clicking client. aiohttp, not httpx: on this 2-core machine the client
    shares the cores with occ-bot, and httpx costs several times more CPU per request."""
    connector = aiohttp.TCPConnector(limit=connections)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30))


async def send_click(http: aiohttp.ClientSession, url: str, click: Click) -> None:
    click.sent_at = time.time()
    started = time.perf_counter()
    async with http.post(url, data=click.body, headers=click.headers) as response:
        await response.read()
        click.status = response.status
    click.ack_ms = (time.perf_counter() - started) * 1000


async def _wait_done(
    occ: OccBot, standins: Standins, clicks: list[Click], started: float
) -> dict[str, Any]:
    """Poll until every reply is in Chatwoot, logged as reply.sent, and shown on its card."""
    conversations = [c.draft.input.conversation_id for c in clicks]
    cards = [(c.draft.card.channel, c.draft.card.ts) for c in clicks if c.draft.card]
    wanted = {c.draft.id for c in clicks}
    deadline = time.perf_counter() + DONE_SECONDS
    state: dict[str, Any] = {}
    while time.perf_counter() < deadline:
        state = await standins.status(conversations, cards)
        if state["replies_sent"] == len(clicks) and state["cards_sent"] == len(clicks):
            break
        await asyncio.sleep(0.1)
    else:
        raise RuntimeError(f"not all approvals finished within {DONE_SECONDS} s: {state}")
    since = datetime.fromtimestamp(started - 5, UTC)
    while True:
        entries = [e for e in await occ.store.entries(since=since) if e.subject_id in wanted]
        sent_ids = {e.subject_id for e in entries if str(e.action) == Action.REPLY_SENT.value}
        if len(sent_ids) == len(clicks):
            break
        if time.perf_counter() > deadline:
            raise RuntimeError(f"only {len(sent_ids)} reply.sent rows of {len(clicks)}")
        await asyncio.sleep(0.1)
    return state | {"entries": entries}


async def one_run(
    occ: OccBot,
    standins: Standins,
    template: dict[str, Any],
    *,
    count: int,
    concurrency: int,
    first_conversation: int,
    tag: str,
    profile_to: Path | None = None,
) -> dict[str, Any]:
    """One run; with `profile_to`, py-spy samples occ-bot from the first click to done."""
    payloads = [draft_payload(template, first_conversation + i, tag) for i in range(count)]
    drafts = await occ.posted_drafts(payloads)
    clicks = [Click(d, *click_request(d)) for d in drafts]
    await occ.wait_drained(DRAIN_SECONDS)
    sampling = profile.record(occ.child.pid, profile_to) if profile_to else contextlib.nullcontext()
    async with sampling:
        cpu = occ.child.cpu_seconds(), standins.child.cpu_seconds(), cpu_of_command("postgres")
        machine, client = machine_cpu(), time.process_time()
        started = time.time()
        await _click_all(occ.events_url, clicks, concurrency)
        clicked = time.time()
        state = await _wait_done(occ, standins, clicks, started)
        done = time.time()
    # CPU over the measured window (to the moment completion was seen, a little after it).
    server_cpu = occ.child.cpu_seconds() - cpu[0]
    standins_cpu = standins.child.cpu_seconds() - cpu[1]
    postgres_cpu = cpu_of_command("postgres") - cpu[2]
    client_cpu = time.process_time() - client
    busy, total = (now - then for now, then in zip(machine_cpu(), machine, strict=True))
    cards = {f"{c.draft.card.channel}/{c.draft.card.ts}": c for c in clicks if c.draft.card}
    shown = await standins.card_sent_times(list(tuple(k.split("/", 1)) for k in cards))
    finished = max(shown.values())
    by_draft: dict[str, dict[str, float]] = {}
    for entry in state["entries"]:
        by_draft.setdefault(entry.subject_id, {})[str(entry.action)] = entry.created_at.timestamp()
    logged = [
        (times[Action.REPLY_SENT.value] - times[Action.DRAFT_APPROVED.value]) * 1000
        for times in by_draft.values()
        if Action.REPLY_SENT.value in times and Action.DRAFT_APPROVED.value in times
    ]
    to_card = [(shown[key] - click.sent_at) * 1000 for key, click in cards.items()]
    acks = [c.ack_ms for c in clicks]
    elapsed = finished - started
    result = {
        "approvals": count,
        "seconds": round(elapsed, 3),
        "approvals_per_s": round(count / elapsed, 1),
        "clicking_seconds": round(clicked - started, 3),
        "non_200_acks": sum(1 for c in clicks if c.status != 200),
        "duplicate_replies": state["sent_messages"] - state["replies_sent"],
        "ack_p50_ms": round(percentile(acks, 50), 2),
        "ack_p99_ms": round(percentile(acks, 99), 2),
        "approved_to_sent_p50_ms": round(percentile(logged, 50), 1),
        "approved_to_sent_p99_ms": round(percentile(logged, 99), 1),
        "click_to_card_sent_p50_ms": round(percentile(to_card, 50), 1),
        "click_to_card_sent_p99_ms": round(percentile(to_card, 99), 1),
        "server_cpu_ms_per_approval": round(server_cpu / count * 1000, 2),
        "server_cpu_pct": round(server_cpu / (done - started) * 100),
        "standins_cpu_pct": round(standins_cpu / (done - started) * 100),
        "postgres_cpu_pct": round(postgres_cpu / (done - started) * 100),
        "client_cpu_pct": round(client_cpu / (done - started) * 100),
        "machine_busy_pct": round(busy / total * 100) if total else 0,
    }
    print(
        f"  e2e {tag:<14} {result['approvals_per_s']:.0f} approvals/s "
        f"({count} in {elapsed:.2f} s), approved→sent p50 "
        f"{result['approved_to_sent_p50_ms']:.0f} ms "
        f"p99 {result['approved_to_sent_p99_ms']:.0f} ms",
        file=sys.stderr,
        flush=True,
    )
    return result


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = [k for k, v in runs[0].items() if isinstance(v, int | float)]
    medians = {k: round(statistics.median(r[k] for r in runs), 2) for k in keys}
    medians["non_200_acks"] = sum(r["non_200_acks"] for r in runs)
    medians["duplicate_replies"] = sum(r["duplicate_replies"] for r in runs)
    return medians | {"runs": runs}
