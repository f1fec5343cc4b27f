"""Drafting off the webhook's path, measured against baselines from the same run:

- **webhook answer latency**: `POST /webhooks/chatwoot` round trips, one at a time while the
  bot drafts the earlier messages, against `GET /healthz` (a database ping) interleaved with
  them. The source documents' budget for an API call is 300 ms.
- **message → card**: from the bot storing a customer's message to its card in Slack (the
  draft's `posted_at` minus the message's `received_at`, both the bot's clock), offline
  drafter, quiet period 0 (a real deployment adds `OCC_DRAFT_QUIET_SECONDS` to it), against
  `POST /drafts` → card for already-drafted replies (no drafting at all). The first message
  after the start is sent and timed alone before them: its drafting loads llama-index and
  indexes the knowledge base, once per process (with the default quiet period of 5 s, that
  happens while the quiet period runs).
- **knowledge base**: building the index for 1,000 articles, refreshing it after one file
  changed, and searching it, against the 13-article sample base. The import of llama-index
  (about 2 s, once per process) is paid before timing.

`occ-bot serve` and the stand-ins (Slack, Chatwoot with the messages' conversations) each run
in their own process, on SQLite. `python -m bench.drafting [--messages N] [--articles N]
[--runs R]`; `bench.run` runs it as a phase.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.resources
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import INTAKE_TOKEN
from bench.e2e import percentile
from bench.occ import OccBot, draft_payload, start_occ_bot
from bench.standins_client import Standins, start_standins
from bot.drafting.kb import KnowledgeBase
from bot.scenarios import load_packet

CONVERSATIONS_FROM = 700_000
SAMPLE_ARTICLES = sorted(
    (f for f in (importlib.resources.files("bot") / "kb").iterdir() if f.name.endswith(".md")),
    key=lambda f: f.name,
)
CARD_TIMEOUT = 300.0


async def measure(messages: int = 200, articles: int = 1000, runs: int = 3) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        standins = await start_standins(work, work)
        try:
            bot, _ = await start_occ_bot(
                standins,
                f"sqlite:///{work / 'occ.db'}",
                name="occ-drafting",
                log_dir=work,
                cwd=work,
                extra_env={"OCC_DRAFT_QUIET_SECONDS": "0"},
            )
            try:
                first = await _first_card(bot, standins)
                answers = await _webhook_answers(bot, standins, messages)
                cards = await _message_to_card(bot, messages)
                baseline_cards = await _drafts_to_card(bot, messages)
            finally:
                await bot.stop()
        finally:
            standins.child.stop()
            await standins.http.aclose()
        index = await asyncio.to_thread(_index_times, work / "kb", articles, runs)
    return {
        "messages": messages,
        "webhook": answers,
        "first_message_to_card_ms": round(first, 1),
        "message_to_card_ms": _summary(cards),
        "drafts_to_card_ms": _summary(baseline_cards),
        "index": index,
    }


async def _webhook_answers(bot: OccBot, standins: Standins, messages: int) -> dict[str, Any]:
    texts = [scenario.draft.customer_message for scenario in load_packet()]
    url = f"{bot.url}/webhooks/chatwoot?token={INTAKE_TOKEN}"
    webhook_ms: list[float] = []
    healthz_ms: list[float] = []
    for n in range(messages):
        event = await standins.customer_message(
            CONVERSATIONS_FROM + n, texts[n % len(texts)], f"Customer {n}"
        )
        started = time.perf_counter()
        answer = await bot.http.post(url, json=event)
        webhook_ms.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 202:
            raise RuntimeError(f"webhook answered {answer.status_code}: {answer.text}")
        started = time.perf_counter()
        await bot.http.get(f"{bot.url}/healthz")
        healthz_ms.append((time.perf_counter() - started) * 1000)
    return {"webhook_ms": _summary(webhook_ms), "healthz_ms": _summary(healthz_ms)}


async def _first_card(bot: OccBot, standins: Standins) -> float:
    """The first customer message after the start, alone: its drafting loads llama-index and
    indexes the knowledge base (once per process; `Services.warm_drafters`). Milliseconds
    from the message stored to its card; the timed messages come after it."""
    text = load_packet()[0].draft.customer_message
    event = await standins.customer_message(CONVERSATIONS_FROM - 1, text, "Customer 0")
    url = f"{bot.url}/webhooks/chatwoot?token={INTAKE_TOKEN}"
    answer = await bot.http.post(url, json=event)
    if answer.status_code != 202:
        raise RuntimeError(f"webhook answered {answer.status_code}: {answer.text}")
    deadline = time.perf_counter() + CARD_TIMEOUT
    while time.perf_counter() < deadline:
        [stored] = await bot.store.inbound_messages(CONVERSATIONS_FROM - 1)
        draft = await bot.store.get_draft(stored.draft_id) if stored.draft_id else None
        if draft is not None and draft.posted_at is not None:
            return (draft.posted_at - stored.received_at).total_seconds() * 1000
        await asyncio.sleep(0.05)
    raise RuntimeError(f"no card for the first message in {CARD_TIMEOUT} s")


async def _message_to_card(bot: OccBot, messages: int) -> list[float]:
    """Wait for every message's card; its latency from the message being stored."""
    deadline = time.perf_counter() + CARD_TIMEOUT
    latencies: dict[int, float] = {}
    while len(latencies) < messages:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"only {len(latencies)} of {messages} cards in {CARD_TIMEOUT} s")
        for n in range(messages):
            if n in latencies:
                continue
            [stored] = await bot.store.inbound_messages(CONVERSATIONS_FROM + n)
            draft = await bot.store.get_draft(stored.draft_id) if stored.draft_id else None
            if draft is not None and draft.posted_at is not None:
                latencies[n] = (draft.posted_at - stored.received_at).total_seconds() * 1000
        await asyncio.sleep(0.05)
    return list(latencies.values())


async def _drafts_to_card(bot: OccBot, messages: int) -> list[float]:
    template = next(s for s in load_packet() if s.key == "demo-1-order-status").payload
    payloads = [
        draft_payload(template, CONVERSATIONS_FROM + messages + n, "drafted")
        for n in range(messages)
    ]
    drafts = await bot.posted_drafts(payloads, concurrency=1)
    return [
        (draft.posted_at - draft.received_at).total_seconds() * 1000
        for draft in drafts
        if draft.posted_at is not None
    ]


def _index_times(folder: Path, articles: int, runs: int) -> dict[str, Any]:
    KnowledgeBase.load(None).warm()  # pay llama-index's import before timing anything
    _write_articles(folder, articles)
    sample_build = [_build_seconds(None) for _ in range(runs)]
    build = [_build_seconds(folder) for _ in range(runs)]
    refresh: list[float] = []
    kb = KnowledgeBase.load(folder, recheck_seconds=0)
    kb.warm()
    changed = folder / "article-0000.md"
    for run in range(runs):
        changed.write_text(_article(0, f"Revised {run}"), encoding="utf-8")
        started = time.perf_counter()
        kb.search("Where is my order?", 3)  # notices the change, re-reads and rebuilds
        refresh.append(time.perf_counter() - started)
    assert kb.reloads == runs, "the knowledge base did not follow its folder"
    queries = [scenario.draft.customer_message for scenario in load_packet()]
    steady = KnowledgeBase.load(folder, recheck_seconds=3600)
    steady.warm()
    sample = KnowledgeBase.load(None)
    sample.warm()
    return {
        "articles": articles,
        "sample_articles": len(sample.articles),
        "build_seconds": statistics.median(build),
        "sample_build_seconds": statistics.median(sample_build),
        "refresh_seconds": statistics.median(refresh),
        "search_ms": _summary(_search_ms(steady, queries)),
        "sample_search_ms": _summary(_search_ms(sample, queries)),
    }


def _build_seconds(folder: Path | None) -> float:
    started = time.perf_counter()
    KnowledgeBase.load(folder).warm()
    return time.perf_counter() - started


def _search_ms(kb: KnowledgeBase, queries: list[str]) -> list[float]:
    out = []
    for n in range(200):
        started = time.perf_counter()
        kb.search(queries[n % len(queries)], 3)
        out.append((time.perf_counter() - started) * 1000)
    return out


def _write_articles(folder: Path, articles: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(articles):
        (folder / f"article-{n:04d}.md").write_text(_article(n), encoding="utf-8")


def _article(n: int, note: str = "") -> str:
    """Article `n`: a sample article's text under its own title, with a line of its own."""
    source = SAMPLE_ARTICLES[n % len(SAMPLE_ARTICLES)].read_text(encoding="utf-8")
    body = source.split("---", 2)[2] if source.startswith("---") else source
    return (
        f"---\ntitle: Product line {n} — {body.strip().splitlines()[0].lstrip('# ')}\n"
        f"version: v{n % 7}.{n % 10}\n---\n{body}\n\n## Product line {n}\n"
        f"Model X{n} ships in {n % 9 + 1} colours. {note}\n"
    )


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "count": len(values),
        "p50": round(statistics.median(values), 2),
        "p99": round(percentile(values, 99), 2),
    }


def markdown(found: dict[str, Any]) -> list[str]:
    web = found["webhook"]
    webhook, healthz = web["webhook_ms"], web["healthz_ms"]
    cards, drafted = found["message_to_card_ms"], found["drafts_to_card_ms"]
    first = found["first_message_to_card_ms"]
    index = found["index"]
    search, sample_search = index["search_ms"], index["sample_search_ms"]
    return [
        f"### 7. Drafting off the webhook's path ({found['messages']} customer messages, "
        "offline drafter, SQLite)",
        "",
        "| measure | p50 | p99 | baseline (same run) | p50 ratio |",
        "| --- | --- | --- | --- | --- |",
        f"| webhook answer (`POST /webhooks/chatwoot`; budget 300 ms) | {webhook['p50']:.1f} ms | "
        f"{webhook['p99']:.1f} ms | `GET /healthz`: {healthz['p50']:.1f} / {healthz['p99']:.1f} ms"
        f" | {webhook['p50'] / healthz['p50']:.1f}× |",
        f"| message → card (quiet period 0) | {cards['p50']:.0f} ms | {cards['p99']:.0f} ms | "
        f"`POST /drafts` → card: {drafted['p50']:.0f} / {drafted['p99']:.0f} ms | "
        f"{cards['p50'] / drafted['p50']:.1f}× |",
        f"| the first message after the start → card (loads llama-index, indexes the knowledge "
        f"base; once per process) | {first:.0f} ms | | the messages after it: "
        f"{cards['p50']:.0f} ms | {first / cards['p50']:.1f}× |",
        f"| search, {index['articles']:,} articles | {search['p50']:.2f} ms | "
        f"{search['p99']:.2f} ms | {index['sample_articles']} articles: "
        f"{sample_search['p50']:.2f} / {sample_search['p99']:.2f} ms | "
        f"{search['p50'] / sample_search['p50']:.1f}× |",
        "",
        "| knowledge base | median | baseline (same run) | ratio |",
        "| --- | --- | --- | --- |",
        f"| index build, {index['articles']:,} articles | {index['build_seconds']:.2f} s | "
        f"{index['sample_articles']} articles: {index['sample_build_seconds']:.3f} s | "
        f"{index['build_seconds'] / index['sample_build_seconds']:.0f}× |",
        f"| refresh after one file changed (re-read, rebuild, first search) | "
        f"{index['refresh_seconds']:.2f} s | the build: {index['build_seconds']:.2f} s | "
        f"{index['refresh_seconds'] / index['build_seconds']:.2f}× |",
        "",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.drafting", description=__doc__)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    if not (1 <= args.messages <= 2000 and 1 <= args.articles <= 20_000 and 1 <= args.runs <= 10):
        parser.error("keep it bounded: --messages 1..2000, --articles 1..20000, --runs 1..10")
    found = asyncio.run(measure(args.messages, args.articles, args.runs))
    print("\n".join(markdown(found)))


if __name__ == "__main__":
    main()
