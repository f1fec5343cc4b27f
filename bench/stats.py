"""The team's numbers over a decision log of 1,000,000 rows on PostgreSQL: `/occ stats` for
today, this week and this month (the team's and one operator's), the Home tab's numbers, and
the read behind `/occ training report`, against a database round trip (`ping`) in the same
run; and the query plans, to show the indexes in use.

The log is 90 days of an active team: 50 operators, every draft received, posted and decided
(approve, edit, reject, escalate in the packet's proportions), replies sent, escalations
claimed, CX breaches; and 40 trainees' rounds of the training packet (scope `training`). It is
written with COPY, then vacuumed and analysed as autovacuum would leave it.
`python -m bench.stats [--rows N] [--runs R]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from bench.e2e import percentile
from bench.pg import DEFAULT_URL, fresh_database
from bot.domain import Action, DecisionKind, Scope
from bot.rules.periods import period_start
from bot.scenarios import training_packet
from bot.store import open_store

OPERATORS = [f"U0OP{n:05d}" for n in range(50)]
MANAGERS = [f"U0MG{n:05d}" for n in range(5)]
DAYS = 90
TRAINEES = 40
TRAINING_ROWS = (Action.TRAINING_STARTED, *(kind.logged_as for kind in DecisionKind))
# Per draft: received, posted, a decision, then a reply sent or an escalation claimed.
DECISIONS = (
    ("draft.approved", 0.55),
    ("draft.edited", 0.25),
    ("draft.rejected", 0.08),
    ("draft.escalated", 0.12),
)


def _rows(count: int, now: datetime) -> Any:
    rng = random.Random(7)
    kinds = [kind for kind, _ in DECISIONS]
    weights = [weight for _, weight in DECISIONS]
    n = 0
    while n < count:
        at = now - timedelta(seconds=rng.uniform(0, DAYS * 86400))
        draft = f"d_{n:09d}"
        operator = rng.choice(OPERATORS)
        kind = rng.choices(kinds, weights)[0]
        waited = round(rng.lognormvariate(4.6, 0.8), 3)  # about 100 s at the median
        rows = [
            ("system", "draft.received", draft, {"agent": "bench"}, at),
            ("system", "draft.posted", draft, {"latency_ms": 12}, at),
            (operator, kind, draft, {"waited_seconds": waited}, at + timedelta(seconds=waited)),
        ]
        if kind in ("draft.approved", "draft.edited"):
            rows.append(("system", "reply.sent", draft, {}, at + timedelta(seconds=waited + 1)))
        elif kind == "draft.escalated":
            claimed = at + timedelta(seconds=waited + rng.uniform(60, 1800))
            within = rng.random() < 0.9
            rows.append(
                (rng.choice(MANAGERS), "escalation.claimed", draft, {"within_sla": within}, claimed)
            )
        if rng.random() < 0.02:
            rows.append(("system", "cx.sla_breached", draft, {"breach": draft}, at))
        for actor, action, subject, payload, when in rows:
            yield (
                f"log-{n:09d}",
                when,
                actor,
                action,
                "cx",
                subject,
                1000 + n % 5000,
                json.dumps(payload),
                "success",
                payload.get("waited_seconds"),  # as the bot writes it (bot.store.decision_log)
            )
            n += 1
            if n >= count:
                return


def _training_rows(now: datetime) -> Any:
    """40 trainees' rounds: the start, then the 11 decisions, about 90 % of them right."""
    rng = random.Random(11)
    packet = training_packet()
    for trainee in range(TRAINEES):
        at = now - timedelta(days=rng.uniform(0, DAYS))
        who, round_id = f"U0TR{trainee:05d}", f"round-{trainee:05d}"
        started = {"trainee": who, "round": round_id, "scenarios": [s.key for s in packet]}
        yield (f"log-tr-{trainee:05d}", at, "U0MG00000", "training.started", round_id, started)
        for n, scenario in enumerate(packet):
            at += timedelta(seconds=rng.uniform(30, 300))
            right = rng.random() < 0.9
            mark = {
                "round": round_id,
                "trainee": who,
                "scenario": scenario.key,
                "chosen": scenario.expected.decision.value if right else "approve",
                "expected": scenario.expected.decision.value,
                "correct": right,
                "urgency": None,
            }
            action = f"draft.{'escalated' if mark['chosen'] == 'escalate' else 'approved'}"
            row_id = f"log-tr-{trainee:05d}-{n:02d}"
            yield (row_id, at, who, action, f"d-tr-{trainee:05d}-{n:02d}", {"training": mark})


def _seed(url: str, count: int, now: datetime) -> float:
    started = time.perf_counter()
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        columns = (
            "id, created_at, actor, action, scope, subject_id, conversation_id, payload, "
            "outcome, waited_seconds"
        )
        with cursor.copy(f"COPY decision_log ({columns}) FROM STDIN") as copy:
            for row in _rows(count, now):
                copy.write_row(row)
            for row_id, at, actor, action, subject, payload in _training_rows(now):
                row = (row_id, at, actor, action, "training", subject, None, json.dumps(payload))
                copy.write_row((*row, "success", None))
    with psycopg.connect(url, autocommit=True) as conn:  # as autovacuum leaves a live table
        conn.execute("VACUUM ANALYZE decision_log")
    return time.perf_counter() - started


def _plans(url: str, now: datetime) -> dict[str, list[str]]:
    week = period_start("week", now, UTC)
    statements = {
        "team: approvals this week": (
            "SELECT count(*) FROM occ_decision_times WHERE created_at >= %s "
            "AND created_at <= %s AND action = 'draft.approved'"
        ),
        "one operator: approvals this week": (
            "SELECT count(*) FROM occ_decision_times WHERE created_at >= %s "
            f"AND created_at <= %s AND actor = '{OPERATORS[0]}' AND action = 'draft.approved'"
        ),
        "team: the median time to decide this week": (
            "SELECT waited_seconds FROM occ_decision_times WHERE created_at >= %s AND "
            "created_at <= %s AND waited_seconds IS NOT NULL ORDER BY waited_seconds "
            "LIMIT 1 OFFSET (SELECT count(*) / 2 FROM occ_decision_times WHERE created_at >= %s "
            "AND created_at <= %s AND waited_seconds IS NOT NULL)"
        ),
        "training report: every round's rows": (
            "SELECT * FROM decision_log WHERE scope = 'training' AND action IN "
            "('training.started', 'draft.approved', 'draft.edited', 'draft.rejected', "
            "'draft.escalated') ORDER BY created_at, seq"
        ),
    }
    plans = {}
    with psycopg.connect(url) as conn:
        for name, sql in statements.items():
            window = (week, now) * sql.count("created_at >= %s")
            found = conn.execute("EXPLAIN (ANALYZE, COSTS OFF) " + sql, window).fetchall()
            plans[name] = [line for (line,) in found]
    return plans


async def _timed(call: Any, runs: int) -> dict[str, float]:
    values = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        values.append((time.perf_counter() - started) * 1000)
    return {"p50": round(statistics.median(values), 2), "p99": round(percentile(values, 99), 2)}


async def measure(rows: int = 1_000_000, runs: int = 30, server: str = DEFAULT_URL) -> dict:
    now = datetime.now(UTC)
    with fresh_database(server) as url:
        store = open_store(url, None, None)
        try:
            await store.migrate()
            seeded = await asyncio.to_thread(_seed, url, rows, now)
            starts = {
                period: period_start(period, now, UTC) for period in ("today", "week", "month")
            }
            # A month can be three days old: the last 30 days are the heaviest window.
            starts["last 30 days"] = now - timedelta(days=30)

            async def home() -> None:  # the Home tab's numbers for one operator
                await asyncio.gather(
                    store.queue_summary(now),
                    store.waiting_drafts(10),
                    store.decision_stats(since=starts["today"], until=now, actor=OPERATORS[0]),
                    store.decision_stats(since=starts["week"], until=now, actor=OPERATORS[0]),
                    store.decision_stats(since=starts["today"], until=now),
                    store.decision_stats(since=starts["week"], until=now),
                )

            timings = {"ping (baseline)": await _timed(store.ping, runs)}
            for period, since in starts.items():
                timings[f"team, {period}"] = await _timed(
                    lambda since=since: store.decision_stats(since=since, until=now), runs
                )
                timings[f"one operator, {period}"] = await _timed(
                    lambda since=since: store.decision_stats(
                        since=since, until=now, actor=OPERATORS[0]
                    ),
                    runs,
                )
            timings["Home tab numbers (six reads at once)"] = await _timed(home, runs)
            timings["training report's read (every round)"] = await _timed(
                lambda: store.entries(scope=Scope.TRAINING, actions=TRAINING_ROWS), runs
            )
        finally:
            await store.close()
        plans = await asyncio.to_thread(_plans, url, now)
    return {"rows": rows, "seed_seconds": round(seeded, 1), "timings": timings, "plans": plans}


def markdown(found: dict) -> list[str]:
    baseline = found["timings"]["ping (baseline)"]["p50"]
    out = [
        f"### 8. The team's numbers over a decision log of {found['rows']:,} rows (PostgreSQL)",
        "",
        "| read | p50 | p99 | p50 ÷ ping |",
        "| --- | --- | --- | --- |",
    ]
    for name, row in found["timings"].items():
        out.append(
            f"| {name} | {row['p50']:.1f} ms | {row['p99']:.1f} ms | {row['p50'] / baseline:.0f}× |"
        )
    out += ["", "Query plans (EXPLAIN ANALYZE):", ""]
    for name, lines in found["plans"].items():
        out += [f"- {name}:", "", "```", *lines, "```", ""]
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stats", description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--postgres", default=DEFAULT_URL)
    args = parser.parse_args(argv)
    if not (1000 <= args.rows <= 5_000_000 and 1 <= args.runs <= 200):
        parser.error("keep it bounded: --rows 1000..5000000, --runs 1..200")
    found = asyncio.run(measure(args.rows, args.runs, args.postgres))
    print("\n".join(markdown(found)))


if __name__ == "__main__":
    main()
