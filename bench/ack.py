"""Acknowledgement latency of Approve clicks under wrk: occ-bot beside bare Bolt apps.

Every occ-bot run clicks Approve on a fresh card: the first click wins, all later ones are
refused. `measure`: occ-bot is restarted (SIGKILL, then a new process on the same database,
warmed up) before each run, so no earlier run's refusals are still being worked through;
the backlog and how long it takes to drain are measured once, after the last run at the
highest concurrency.

`measure_backlog` measures the case people meet: a run at 50 connections on one card, then
at once a run at 1 connection on another, whose acks share the event loop with whatever
the first run left behind. Its targets may include occ-bot from another source tree (the
baseline), started the same way.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.common import OPERATOR
from bench.occ import OccBot, click_request, draft_payload
from bench.procs import Child
from bench.standins_client import Standins
from bench.wrk import WrkResult, run_wrk, write_request
from bot.blocks.ids import ActionId
from bot.demo.standins.interactions import block_action
from bot.domain import Outcome

LEVELS = ((1, 1), (50, 2))  # (connections, wrk threads)
BURST = (50, 2)  # the earlier run whose refusals may still be draining
MEASURED = (1, 1)  # the run measured while they drain
DRAIN_SECONDS = 120.0
WARM_CLICKS = 50


@dataclass
class Target:
    """One server under test: occ-bot (with a way to start a fresh one) or a bare Bolt app."""

    name: str
    events_url: str = ""
    child: Child | None = None  # occ-bot's changes with each restart
    restart: Callable[[], Awaitable[OccBot]] | None = None
    occ: OccBot | None = None
    runs: dict[int, list[WrkResult]] = field(default_factory=dict)
    drain: dict[str, Any] = field(default_factory=dict)
    draft_id: str = ""  # occ-bot: the card clicked in the current run
    backlog: list[dict[str, Any]] = field(default_factory=list)  # `measure_backlog`'s runs
    drains: bool = True  # occ-bot: left to drain after `measure`'s last run (else killed)


def summary(runs: list[WrkResult]) -> dict[str, Any]:
    """The median of the runs for each number, and every run as measured."""

    def median(key: str) -> float:
        return round(statistics.median(getattr(r, key) for r in runs), 3)

    return {
        "p50_ms": median("p50_ms"),
        "p99_ms": median("p99_ms"),
        "rps": median("rps"),
        "failed_requests": sum(r.failed for r in runs),
        "runs": [r.as_dict() for r in runs],
    }


class Conversations:
    """Fresh conversation ids, so every draft is distinct."""

    def __init__(self, first: int) -> None:
        self.next = first

    def take(self) -> int:
        self.next += 1
        return self.next


async def _fresh_occ(target: Target, template: dict[str, Any], ids: Conversations) -> OccBot:
    """A new occ-bot process on the same database, warmed up (Bolt's auth.test, pools)."""
    assert target.restart is not None
    occ = target.occ = await target.restart()
    target.child, target.events_url = occ.child, occ.events_url
    (draft,) = await occ.posted_drafts([draft_payload(template, ids.take(), "warm")])
    body, headers = click_request(draft)
    async with httpx.AsyncClient(timeout=30) as http:
        clicks = [
            http.post(occ.events_url, content=body, headers=headers) for _ in range(WARM_CLICKS)
        ]
        await asyncio.gather(*clicks)
    await occ.wait_drained(DRAIN_SECONDS)
    return occ


async def _request_file(
    target: Target, path: Path, template: dict[str, Any], ids: Conversations
) -> None:
    """Sign a click for this run; occ-bot gets a fresh card, so the first click wins."""
    if target.occ is None:
        payload = block_action(
            user=OPERATOR,
            action_id=ActionId.APPROVE.value,
            value="d_bench",
            channel="C0BENCH",
            message_ts="1700000000.000100",
        )
        write_request(path, payload)
        return
    (draft,) = await target.occ.posted_drafts([draft_payload(template, ids.take(), "ack")])
    target.draft_id = draft.id
    body, headers = click_request(draft)
    head = "\n".join(f"{k}: {v}" for k, v in headers.items())
    path.write_text(f"{head}\n\n{body}", encoding="utf-8")


async def _wrk_run(
    wrk: str,
    target: Target,
    standins: Standins,
    request: Path,
    level: tuple[int, int],
    seconds: int,
) -> WrkResult:
    """One wrk run at ``level`` (connections, threads), with the server's and the stand-ins'
    CPU time during it."""
    assert target.child is not None
    cpu, helper_cpu = target.child.cpu_seconds(), standins.child.cpu_seconds()
    connections, threads = level
    result, _ = await run_wrk(
        wrk, target.events_url, request, connections=connections, threads=threads, seconds=seconds
    )
    result.server_cpu_seconds = round(target.child.cpu_seconds() - cpu, 3)
    result.helper_cpu_seconds = round(standins.child.cpu_seconds() - helper_cpu, 3)
    return result


async def _backlog(occ: OccBot, draft_id: str, acked: int) -> dict[str, int]:
    """How many refused clicks were acknowledged but not yet logged when wrk stopped (a row
    counts the clicks it stands for)."""
    entries = await occ.store.entries(subject_id=draft_id)
    refused = [e for e in entries if str(e.outcome) == Outcome.REFUSED.value]
    logged = sum(int(e.payload.get("clicks", 1)) for e in refused)
    return {"refusals_logged": logged, "refusals_pending": max(acked - 1 - logged, 0)}


async def _drain(target: Target, standins: Standins, cpu: float, helper_cpu: float) -> None:
    """Wait for occ-bot's backlog after a run and record what it cost."""
    assert target.occ is not None and target.child is not None
    drained = await target.occ.wait_drained(DRAIN_SECONDS)
    target.drain = drained | {
        "server_cpu_with_drain": round(target.child.cpu_seconds() - cpu, 3),
        "helper_cpu_with_drain": round(standins.child.cpu_seconds() - helper_cpu, 3),
        "rss_after_drain_mb": round(target.child.rss_mb(), 1),
        "peak_rss_mb": round(target.child.peak_rss_mb(), 1),
    }


async def measure(
    wrk: str,
    targets: list[Target],
    standins: Standins,
    template: dict[str, Any],
    work_dir: Path,
    *,
    runs: int,
    seconds: int,
    first_conversation: int,
) -> None:
    """Fill each target's `runs` (and occ-bot's `drain`)."""
    request = work_dir / "click.req"
    ids = Conversations(first_conversation)
    for target in targets:
        if target.restart is None:  # warm-up: Bolt's auth.test, lazy imports
            await _request_file(target, request, template, ids)
            await run_wrk(wrk, target.events_url, request, connections=2, threads=1, seconds=1)
    for connections, threads in LEVELS:
        for run in range(1, runs + 1):
            last = (connections, threads) == LEVELS[-1] and run == runs
            for target in targets:  # interleaved, so drift hits every target alike
                if target.restart is not None:
                    await _fresh_occ(target, template, ids)
                await _request_file(target, request, template, ids)
                assert target.child is not None
                cpu = target.child.cpu_seconds()
                helper_cpu = standins.child.cpu_seconds()
                result = await _wrk_run(
                    wrk, target, standins, request, (connections, threads), seconds
                )
                if target.occ is not None:
                    result.extra = await _backlog(target.occ, target.draft_id, result.requests)
                    if last and target.drains:
                        await _drain(target, standins, cpu, helper_cpu)
                    else:  # its backlog must not run beside the next target's run
                        await target.occ.stop(kill=True)
                        target.occ = None
                target.runs.setdefault(connections, []).append(result)
                print(
                    f"  ack {target.name:<42} c={connections:<3} run {run}: "
                    f"p50 {result.p50_ms:.2f} ms  p99 {result.p99_ms:.2f} ms  "
                    f"{result.rps:.0f} req/s  errors {result.failed}  {result.extra or ''}",
                    file=sys.stderr,
                    flush=True,
                )


def backlog_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The measured runs' medians, with what the burst before each left behind."""
    measured = [
        WrkResult(**{k: v for k, v in r["measured"].items() if k != "failed"}) for r in runs
    ]

    def median(key: str) -> float | None:
        found = [r[key] for r in runs if r.get(key) is not None]
        return round(statistics.median(found), 1) if found else None

    return summary(measured) | {
        "burst_requests": median("burst_requests"),
        "pending_before": median("pending_before"),
        "pending_after": median("pending_after"),
        "backlog_runs": runs,
    }


async def _pending(occ: OccBot) -> int | None:
    """Background work occ-bot reports pending; None if /healthz cannot say in time."""
    try:
        async with asyncio.timeout(2):
            return await occ.pending_work()
    except (TimeoutError, httpx.HTTPError):
        return None


async def _backlog_run(
    wrk: str,
    target: Target,
    standins: Standins,
    template: dict[str, Any],
    work_dir: Path,
    ids: Conversations,
    seconds: int,
) -> dict[str, Any]:
    """A burst at 50 connections on one card, then at once 1 connection on another."""
    burst_request, measured_request = work_dir / "burst.req", work_dir / "measured.req"
    if target.restart is not None:
        await _fresh_occ(target, template, ids)
    await _request_file(target, burst_request, template, ids)
    await _request_file(target, measured_request, template, ids)  # posted before the burst
    burst = await _wrk_run(wrk, target, standins, burst_request, BURST, seconds)
    before = await _pending(target.occ) if target.occ is not None else None
    measured = await _wrk_run(wrk, target, standins, measured_request, MEASURED, seconds)
    after = None
    if target.occ is not None:
        after = await _pending(target.occ)
        await target.occ.stop(kill=True)  # its backlog must not run beside the next target's
        target.occ = None
    return {
        "burst_requests": burst.requests,
        "burst_failed": burst.failed,
        "pending_before": before,
        "pending_after": after,
        "measured": measured.as_dict(),
    }


async def measure_backlog(
    wrk: str,
    targets: list[Target],
    standins: Standins,
    template: dict[str, Any],
    work: Path,
    ids: Conversations,
    *,
    runs: int,
    seconds: int,
) -> None:
    """Fill each target's `backlog`: acks at 1 connection right after a 50-connection run,
    on cards numbered from ``ids``."""
    for run in range(1, runs + 1):
        for target in targets:  # interleaved, so drift hits every target alike
            found = await _backlog_run(wrk, target, standins, template, work, ids, seconds)
            target.backlog.append(found)
            measured = found["measured"]
            print(
                f"  ack after a burst {target.name:<42} run {run}: p50 "
                f"{measured['p50_ms']:.2f} ms  p99 {measured['p99_ms']:.2f} ms  "
                f"{measured['rps']:.0f} req/s  errors {measured['failed']}  pending before "
                f"{found['pending_before']} after {found['pending_after']}",
                file=sys.stderr,
                flush=True,
            )
