"""`python -m bench.run`: the whole benchmark, one command; Markdown on stdout, JSON on disk.

Phases: start-up and idle memory; acknowledgement latency under wrk (occ-bot beside bare Bolt
apps); end-to-end approvals per second on SQLite and PostgreSQL; click → card updated latency
as operators see it (1 and 20 operators, PostgreSQL); reminders falling due at once; Sales
Pulse over a large shop; drafting off the webhook's path (webhook answer, message → card,
knowledge-base index for 1,000 articles); the team's numbers over a 1,000,000-row decision
log; the CX scan over a 10,000-conversation inbox. Progress goes to stderr, child logs to
bench/results/logs/, results to bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import uvicorn
from slack_bolt.version import __version__ as bolt_version

from bench import (
    ack,
    cx_scan,
    drafting,
    e2e,
    latency,
    profile,
    pulse,
    reminders,
    sales_pulse,
    startup,
    stats,
)
from bench.ack import Target
from bench.bare_bolt import start_bare_bolt
from bench.occ import OccBot, start_occ_bot
from bench.pg import DEFAULT_URL, fresh_database
from bench.report import BOLT_DEFAULT, BOLT_PBR, OCC, OCC_BASELINE, markdown
from bench.standins_client import Standins, start_standins
from bench.wrk import ensure_wrk
from bot.scenarios import load_packet

RESULTS = Path(__file__).with_name("results")
TEMPLATE_SCENARIO = "demo-1-order-status"  # low risk: any operator may approve it
REMINDER_BURST = 10  # messages Slack lets a channel take at once before its rate applies


def _serving() -> str:
    """Which event loop and HTTP parser uvicorn serves with here (both apps alike)."""
    import importlib.util

    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio loop"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return f"{loop}, {http}"


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs per configuration (median)")
    parser.add_argument("--seconds", type=int, default=5, help="length of each wrk run")
    parser.add_argument("--drafts", type=int, default=300, help="approvals per end-to-end run")
    parser.add_argument("--in-flight", type=int, default=50, help="end-to-end click concurrency")
    parser.add_argument(
        "--latency-clicks",
        type=int,
        default=200,
        help="click→card latency: clicks per operator level (1 and 20 operators) per run",
    )
    parser.add_argument("--postgres", default=DEFAULT_URL, help="server URL; a new DB is made")
    parser.add_argument(
        "--ack-baseline",
        type=Path,
        help="a source tree of occ-bot (e.g. `git archive main` unpacked) measured beside this "
        "one in the ack phase's backlog runs, in the same run",
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=[
            "startup",
            "ack",
            "e2e",
            "latency",
            "reminders",
            "sales",
            "pulse",
            "drafting",
            "stats",
            "cxscan",
            "postgres",
            "sqlite",
        ],
        help="leave a phase out (postgres, sqlite: every measurement on that database)",
    )
    parser.add_argument(
        "--sales-orders",
        type=int,
        default=100_000,
        help="orders in the Sales Pulse window (read with a bulk operation)",
    )
    parser.add_argument(
        "--drafting-messages",
        type=int,
        default=200,
        help="customer messages through the Chatwoot webhook in the drafting phase",
    )
    parser.add_argument(
        "--stats-rows",
        type=int,
        default=1_000_000,
        help="decision-log rows the team's numbers are read from (PostgreSQL)",
    )
    parser.add_argument(
        "--kb-articles",
        type=int,
        default=1000,
        help="articles in the knowledge base whose index build, refresh and search are timed",
    )
    parser.add_argument(
        "--reminders",
        type=int,
        default=1000,
        help="reminders falling due at once, posted by 1 and by 3 replicas (PostgreSQL)",
    )
    parser.add_argument(
        "--slack-posts-per-second",
        type=float,
        default=20.0,
        help="the stand-in's per-channel posting limit during the reminders phase (Slack's "
        "is about 1 a second; scaled so a run takes about a minute)",
    )
    parser.add_argument(
        "--cx-conversations",
        type=int,
        default=10_000,
        help="open conversations in the Chatwoot inbox the CX scan reads",
    )
    parser.add_argument(
        "--cx-breaches", type=int, default=200, help="of them, customers waiting past the SLA"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample occ-bot with py-spy during the PostgreSQL end-to-end runs and the "
        "20-operator click → card runs (needs "
        "`.venv/bin/pip install py-spy`; stacks in bench/results/profile-*.txt)",
    )
    args = parser.parse_args(argv)
    if not (1 <= args.runs <= 9 and 1 <= args.seconds <= 10 and 1 <= args.drafts <= 2000):
        parser.error("keep it bounded: --runs 1..9, --seconds 1..10, --drafts 1..2000")
    if not 1 <= args.sales_orders <= 500_000:
        parser.error("keep it bounded: --sales-orders 1..500000")
    if not (1 <= args.reminders <= 5000 and 1 <= args.slack_posts_per_second <= 1000):
        parser.error("keep it bounded: --reminders 1..5000, --slack-posts-per-second 1..1000")
    if not 1 <= args.cx_breaches <= args.cx_conversations <= 50_000:
        parser.error("keep it bounded: 1 <= --cx-breaches <= --cx-conversations <= 50000")
    if not (1 <= args.in_flight <= 200 and 1 <= args.latency_clicks <= 1000):
        parser.error("keep it bounded: --in-flight 1..200, --latency-clicks 1..1000")
    if args.profile:
        try:
            profile.py_spy()
        except RuntimeError as error:
            parser.error(str(error))
    return args


def _machine(wrk: str | None) -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    version = (
        subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
        if wrk
        else subprocess.CompletedProcess([], 0, "wrk not used", "")
    )
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "slack_bolt": bolt_version,
        "uvicorn": uvicorn.__version__,
        "serving": _serving(),
        "wrk": (version.stdout or version.stderr).split("Copyright")[0].strip(),
    }


def _phase(name: str) -> None:
    print(f"== {name}", file=sys.stderr, flush=True)


def _occ_target(
    name: str,
    standins: Standins,
    work: Path,
    logs: Path,
    stack: contextlib.AsyncExitStack,
    *,
    tree: Path | None,
) -> Target:
    """occ-bot as an ack target, restarted before each run on a database of its own; from
    ``tree`` (its source on PYTHONPATH) when given, else from this checkout."""
    starts = itertools.count(1)
    target = Target(name)  # its process and URL come with each restart
    slug = "baseline" if tree is not None else "ack"
    extra = {"PYTHONPATH": str(tree.resolve())} if tree is not None else None

    async def restart() -> OccBot:
        occ, _ = await start_occ_bot(
            standins,
            f"sqlite:///{work}/{slug}.db",
            name=f"occ-{slug}-{next(starts)}",
            log_dir=logs,
            cwd=work,
            extra_env=extra,
        )
        return occ

    async def stop() -> None:
        if target.occ is not None:
            await target.occ.stop(kill=True)
            target.occ = None

    target.restart = restart
    stack.push_async_callback(stop)
    return target


async def _ack_phase(
    args: argparse.Namespace,
    wrk: str,
    standins: Standins,
    work: Path,
    logs: Path,
    template: dict[str, Any],
    stack: contextlib.AsyncExitStack,
) -> dict[str, Any]:
    occ_target = _occ_target(OCC, standins, work, logs, stack, tree=None)
    targets = [occ_target]
    if args.ack_baseline is not None:
        baseline = _occ_target(OCC_BASELINE, standins, work, logs, stack, tree=args.ack_baseline)
        baseline.drains = False  # its drain takes minutes; measured after a burst instead
        targets.insert(0, baseline)
    for name, pbr in ((BOLT_PBR, True), (BOLT_DEFAULT, False)):
        child, url, _ = await start_bare_bolt(
            f"{standins.slack_url}/api/",
            process_before_response=pbr,
            name=f"bolt-ack-{'pbr' if pbr else 'default'}",
            log_dir=logs,
            cwd=work,
        )
        stack.callback(child.stop)
        targets.append(Target(name, f"{url}/slack/events", child))
    await ack.measure(
        wrk,
        targets,
        standins,
        template,
        work,
        runs=args.runs,
        seconds=args.seconds,
        first_conversation=1_000_000,
    )
    result: dict[str, Any] = {
        t.name: {str(level): ack.summary(runs) for level, runs in t.runs.items()} for t in targets
    }
    result["occ_bot_drain"] = occ_target.drain
    result["standin_calls"] = await standins.counts()
    if occ_target.occ is not None:
        await occ_target.occ.stop(kill=True)
        occ_target.occ = None
    # occ-bot (and its baseline), and bare Bolt with process_before_response=True
    with_backlog = [t for t in targets if t.restart is not None or t.name == BOLT_PBR]
    await ack.measure_backlog(
        wrk,
        with_backlog,
        standins,
        template,
        work,
        ack.Conversations(2_000_000),
        runs=args.runs,
        seconds=args.seconds,
    )
    result["after_a_burst"] = {t.name: ack.backlog_summary(t.backlog) for t in with_backlog}
    if args.ack_baseline is not None:
        result["after_a_burst"]["baseline_tree"] = str(args.ack_baseline)
    for target in targets:
        if target.restart is None:
            assert target.child is not None
            target.child.stop()
    return result


async def _e2e_on(
    args: argparse.Namespace,
    standins: Standins,
    occ: OccBot,
    template: dict[str, Any],
    tag: str,
    first_conversation: int,
    *,
    profiled: bool = False,
) -> dict[str, Any]:
    runs, profiles = [], []
    for n in range(args.runs):
        profile_to = RESULTS / f"profile-e2e-{tag}-{n + 1}.txt" if profiled else None
        runs.append(
            await e2e.one_run(
                occ,
                standins,
                template,
                count=args.drafts,
                concurrency=args.in_flight,
                first_conversation=first_conversation + n * 10_000,
                tag=f"{tag}-{n + 1}",
                profile_to=profile_to,
            )
        )
        if profile_to is not None and profile_to.exists():
            profiles.append(profile_to)
    result = e2e.summary(runs)
    if profiles:
        result["profile"] = profile.breakdown(profiles) | {"files": [str(p) for p in profiles]}
    return result


async def _e2e_phase(
    args: argparse.Namespace,
    standins: Standins,
    work: Path,
    logs: Path,
    template: dict[str, Any],
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if "sqlite" not in args.skip:
        async with contextlib.AsyncExitStack() as stack:
            occ, _ = await start_occ_bot(
                standins, f"sqlite:///{work}/e2e.db", name="occ-e2e-sqlite", log_dir=logs, cwd=work
            )
            stack.push_async_callback(occ.stop)
            result["sqlite"] = await _e2e_on(args, standins, occ, template, "sqlite", 2_000_000)
    if "postgres" in args.skip:
        return result
    try:
        async with contextlib.AsyncExitStack() as stack:
            url = stack.enter_context(fresh_database(args.postgres))
            occ, _ = await start_occ_bot(
                standins, url, name="occ-e2e-postgres", log_dir=logs, cwd=work
            )
            stack.push_async_callback(occ.stop)
            result["postgresql"] = await _e2e_on(
                args, standins, occ, template, "postgresql", 3_000_000, profiled=args.profile
            )
    except psycopg.OperationalError as error:  # no server to measure on
        result["postgresql"] = {"error": str(error).splitlines()[0][:200]}
    return result


async def _latency_phase(
    args: argparse.Namespace,
    standins: Standins,
    work: Path,
    logs: Path,
    template: dict[str, Any],
) -> dict[str, Any]:
    """Click → card updated on PostgreSQL (a fresh database and occ-bot process)."""
    try:
        async with contextlib.AsyncExitStack() as stack:
            url = stack.enter_context(fresh_database(args.postgres))
            occ, _ = await start_occ_bot(
                standins, url, name="occ-latency-postgres", log_dir=logs, cwd=work
            )
            stack.push_async_callback(occ.stop)
            return {
                "postgresql": await latency.measure(
                    occ,
                    standins,
                    template,
                    runs=args.runs,
                    clicks=args.latency_clicks,
                    first_conversation=4_000_000,
                    tag="postgresql",
                    profile_dir=RESULTS if args.profile else None,
                )
            }
    except psycopg.OperationalError as error:  # no server to measure on
        return {"postgresql": {"error": str(error).splitlines()[0][:200]}}


async def _guarded(phase: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    """A phase's results, or its error: one failing phase must not hide the others."""
    try:
        return await phase
    except Exception as error:
        print(f"  phase failed: {error!r}", file=sys.stderr, flush=True)
        said = str(error).splitlines() or [""]  # some errors (httpx's ReadError) say nothing
        return {"error": f"{type(error).__name__}: {said[0][:300]}"}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    wrk = ensure_wrk() if "ack" not in args.skip else None  # only the ack phase uses it
    started = time.perf_counter()
    results: dict[str, Any] = {"machine": _machine(wrk), "config": vars(args)}
    template = next(s.payload for s in load_packet() if s.key == TEMPLATE_SCENARIO)
    logs = RESULTS / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    for old in [*logs.glob("*.log"), *RESULTS.glob("profile-*")]:
        old.unlink()
    with tempfile.TemporaryDirectory(prefix="occ-bench-") as tmp:
        work = Path(tmp)
        async with contextlib.AsyncExitStack() as stack:
            standins = await start_standins(logs, work)
            stack.push_async_callback(standins.stop)
            if "startup" not in args.skip:
                _phase("start-up and idle memory")
                results["startup"] = await _guarded(
                    startup.measure(standins, work, logs, runs=args.runs)
                )
            if "ack" not in args.skip:
                _phase("acknowledgement latency (wrk)")
                assert wrk is not None
                results["ack"] = await _guarded(
                    _ack_phase(args, wrk, standins, work, logs, template, stack)
                )
            if "e2e" not in args.skip:
                _phase("end-to-end approvals")
                results["e2e"] = await _guarded(_e2e_phase(args, standins, work, logs, template))
            if "latency" not in args.skip and "postgres" not in args.skip:
                _phase("click → card updated latency (PostgreSQL)")
                results["latency"] = await _guarded(
                    _latency_phase(args, standins, work, logs, template)
                )
            if "reminders" not in args.skip and "postgres" not in args.skip:
                _phase("reminders falling due at once (PostgreSQL, 1 and 3 replicas)")
                results["reminders"] = await _guarded(
                    reminders.measure(
                        standins,
                        count=args.reminders,
                        per_second=args.slack_posts_per_second,
                        burst=REMINDER_BURST,
                        postgres=args.postgres,
                        logs=logs,
                        work=work,
                    )
                )
    if "sales" not in args.skip:
        _phase(f"Sales Pulse over {args.sales_orders:,} orders")
        results["sales_pulse"] = await _guarded(sales_pulse.measure(args.sales_orders, args.runs))
    if "pulse" not in args.skip:
        _phase(f"/occ pulse over a shop of {args.sales_orders:,} orders")
        results["pulse"] = await _guarded(pulse.measure(args.sales_orders, 200, args.runs))
    if "drafting" not in args.skip:
        _phase(f"drafting off the webhook's path ({args.drafting_messages} messages)")
        results["drafting"] = await _guarded(
            drafting.measure(args.drafting_messages, args.kb_articles, args.runs)
        )
    if "stats" not in args.skip and "postgres" not in args.skip:
        _phase(f"the team's numbers over {args.stats_rows:,} log rows (PostgreSQL)")
        results["stats"] = await _guarded(stats.measure(args.stats_rows, 30, args.postgres))
    if "cxscan" not in args.skip:
        _phase(f"CX scan over {args.cx_conversations:,} open conversations")
        results["cx_scan"] = await _guarded(
            cx_scan.measure(args.cx_conversations, args.cx_breaches, args.runs)
        )
    results["elapsed_seconds"] = round(time.perf_counter() - started, 1)
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return results


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    results = asyncio.run(run(args))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    sys.stdout.write(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
