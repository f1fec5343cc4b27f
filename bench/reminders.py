"""Reminders falling due at once: how long 1 or 3 `occ-bot serve` replicas take to post them
all, against Slack's per-channel posting limit, and how fairly (in due order) they go out.

Every reminder is a reply in its escalation's thread, so all of them share one channel and
its posting limit: the bound is (reminders − burst) / rate seconds. The Slack stand-in enforces
that limit (429 ``ratelimited`` with ``Retry-After``, as Slack does) at a scaled rate, so a
run takes about a minute instead of Slack's one message a second; what carries over is the
ratio of the time taken to the bound.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from slack_sdk.web.async_client import AsyncWebClient

from bench.occ import OccBot, start_occ_bot
from bench.pg import fresh_database
from bench.standins_client import Standins
from bot.demo.standins.slack import DEFAULT_TOKEN
from bot.domain import (
    Action,
    Customer,
    Decision,
    DecisionKind,
    Draft,
    DraftInput,
    Escalation,
    EscalationType,
    LogEntry,
    Outcome,
    Scope,
    SlackRef,
    Urgency,
)
from bot.store import open_store

EVENT_TYPE = "occ_reminder"
DUE_SPREAD = timedelta(seconds=2)  # due times spread over this, so "in due order" means something
LEAD_SECONDS = 8.0  # from seeding to the first due time: the replicas start meanwhile
TICK_SECONDS = "1"
BOT_BURST = 3  # OCC_SLACK_POST_BURST's default


def _row(subject: str, action: Action) -> LogEntry:
    return LogEntry(
        id=f"log-{subject}-{action.value}",
        created_at=datetime.now(UTC),
        actor="U0BENCHOP",
        action=action,
        scope=Scope.CX,
        subject_id=subject,
        conversation_id=None,
        payload={},
        outcome=Outcome.SUCCESS,
    )


async def _seed(database_url: str, standins: Standins, count: int, first_due: datetime) -> None:
    """`count` open escalations (Normal: one reminder each in a run), each message posted."""
    store = open_store(database_url, None, None)
    web = AsyncWebClient(token=DEFAULT_TOKEN, base_url=f"{standins.slack_url}/api/")
    try:
        await store.migrate()
        for n in range(count):
            draft_id, escalation_id = f"d-{n:05d}", f"esc-{n:05d}"
            now = datetime.now(UTC)
            data = DraftInput(
                conversation_id=9_000_000 + n,
                customer_message="I was charged three times.",
                draft="Hi!",
                confidence=0.5,
                customer=Customer(name=f"Customer {n}"),
            )
            await store.add_draft(
                Draft(id=draft_id, input=data, received_at=now),
                _row(draft_id, Action.DRAFT_RECEIVED),
            )
            escalation = Escalation(
                id=escalation_id,
                draft_id=draft_id,
                conversation_id=data.conversation_id,
                type=EscalationType.HIGH_VALUE,
                urgency=Urgency.NORMAL,
                notes="bench",
                escalated_by="U0BENCHOP",
                created_at=now,
                due_at=first_due + DUE_SPREAD * n / count,
            )
            await store.decide(
                draft_id,
                Decision(DecisionKind.ESCALATE, "U0BENCHOP", now, escalation_id=escalation_id),
                log=_row(draft_id, Action.DRAFT_ESCALATED),
                escalation=escalation,
            )
            posted = await web.chat_postMessage(channel="#occ-escalations", text=f"Escalation {n}")
            await store.set_escalation_message(
                escalation_id,
                SlackRef(channel=posted["channel"], ts=posted["ts"]),
                _row(escalation_id, Action.ESCALATION_POSTED),
            )
    finally:
        await store.close()


def _due_times(database_url: str) -> tuple[dict[str, float], dict[str, Any]]:
    """Each reminder's due time (epoch s), and what the decision log says about the run."""
    with psycopg.connect(database_url) as conn:
        due = {
            rid: at.timestamp()
            for rid, at in conn.execute("select id, due_at from escalation_reminders")
        }
        counted = conn.execute(
            "select"
            " count(*) filter (where action = 'escalation.reminded' and outcome = 'retry'),"
            " count(*) filter (where action = 'reliability.alert')"
            " from decision_log"
        ).fetchone()
        alerted = [
            str(subject)
            for (subject,) in conn.execute(
                "select subject_id from decision_log where action = 'reliability.alert'"
                " order by created_at"
            )
        ]
    assert counted is not None
    return due, {
        "retry_rows": counted[0],
        "reliability_alerts": counted[1],
        "reliability_alert_subjects": alerted,
    }


def _inversions(order: list[float]) -> float:
    """Share of pairs posted out of due order (0: strictly in due order)."""
    n = len(order)
    if n < 2:
        return 0.0
    out_of_order = sum(1 for i in range(n) for j in range(i + 1, n) if order[i] > order[j])
    return out_of_order / (n * (n - 1) / 2)


async def one_run(
    standins: Standins,
    *,
    replicas: int,
    count: int,
    per_second: float,
    burst: int,
    postgres: str,
    logs: Path,
    work: Path,
) -> dict[str, Any]:
    with fresh_database(postgres) as url:
        first_due = datetime.now(UTC) + timedelta(seconds=LEAD_SECONDS + count / 400)
        await _seed(url, standins, count, first_due)
        before = len((await standins.marked_posts(EVENT_TYPE))["posts"])
        limited_before = (await standins.marked_posts(EVENT_TYPE))["rate_limited"]
        await standins.limit_slack_posts(per_second, burst)
        bots: list[OccBot] = []
        try:
            for n in range(replicas):
                bot, _ = await start_occ_bot(
                    standins,
                    url,
                    name=f"occ-reminders-{replicas}x-{n + 1}",
                    log_dir=logs,
                    cwd=work,
                    extra_env={
                        "OCC_JOB_TICK_SECONDS": TICK_SECONDS,
                        # the bot paces its posts to the stand-in's rate, as to Slack's, with
                        # its own default burst (3): Slack does not publish its burst
                        "OCC_SLACK_POSTS_PER_SECOND": str(per_second),
                        "OCC_SLACK_POST_BURST": str(BOT_BURST),
                    },
                )
                bots.append(bot)
            bound = max(count - burst, 0) / per_second
            deadline = time.monotonic() + LEAD_SECONDS + 3 * bound + 120
            while time.monotonic() < deadline:
                marked = await standins.marked_posts(EVENT_TYPE)
                if len({p["id"] for p in marked["posts"][before:]}) >= count:
                    break
                await asyncio.sleep(0.5)
            marked = await standins.marked_posts(EVENT_TYPE)
            cpu = sum(bot.child.cpu_seconds() for bot in bots)
        finally:
            await standins.limit_slack_posts(1e9, 1_000_000)  # off for what follows
            for bot in bots:
                await bot.stop()
        posts = marked["posts"][before:]
        due, counted = _due_times(url)
    return _summary(posts, due, counted, count, bound, per_second, burst, replicas) | {
        "slack_429s": marked["rate_limited"] - limited_before,
        "occ_bot_cpu_seconds": round(cpu, 1),  # start-up included, all replicas
    }


def _summary(
    posts: list[dict[str, Any]],
    due: dict[str, float],
    counted: dict[str, Any],
    count: int,
    bound: float,
    per_second: float,
    burst: int,
    replicas: int,
) -> dict[str, Any]:
    first_seen: dict[str, float] = {}
    for post in posts:
        first_seen.setdefault(post["id"], post["posted_at"])
    posted = sorted(first_seen.items(), key=lambda item: item[1])
    late = sorted(at - due[rid] for rid, at in posted if rid in due)
    start = min(due.values()) if due else 0.0
    took = (posted[-1][1] - start) if posted else float("nan")

    def pct(q: float) -> float:
        return round(late[min(len(late) - 1, int(q * len(late)))], 2) if late else float("nan")

    return {
        "replicas": replicas,
        "reminders": count,
        "posted": len(first_seen),
        "duplicates": len(posts) - len(first_seen),
        "limit_per_second": per_second,
        "burst": burst,
        "bound_seconds": round(bound, 1),
        "took_seconds": round(took, 1),
        "took_vs_bound": round(took / bound, 2) if bound else None,
        "lateness_p50_s": round(statistics.median(late), 2) if late else None,
        "lateness_p99_s": pct(0.99),
        "lateness_max_s": round(late[-1], 2) if late else None,
        "out_of_due_order": round(_inversions([due[rid] for rid, _ in posted if rid in due]), 4),
        **counted,
    }


async def measure(
    standins: Standins,
    *,
    count: int,
    per_second: float,
    burst: int,
    postgres: str,
    logs: Path,
    work: Path,
) -> dict[str, Any]:
    result = {}
    for replicas in (1, 3):
        row = await one_run(
            standins,
            replicas=replicas,
            count=count,
            per_second=per_second,
            burst=burst,
            postgres=postgres,
            logs=logs,
            work=work,
        )
        print(f"  reminders x{replicas}: {row}", file=sys.stderr, flush=True)
        result[str(replicas)] = row
    return result
