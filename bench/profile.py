"""Sampling the `occ-bot serve` process with py-spy during a measured window, and where it went.

`record(pid, out)` runs ``py-spy record --format raw`` (collapsed stacks, one
``frame;frame;… count`` line per distinct stack) against the process until the window ends;
py-spy leaves idle threads out by default, so samples are on-CPU Python time. py-spy is not a
project dependency: ``.venv/bin/pip install py-spy``. It pauses the process for each sample,
so a profiled run is a little slower than an unprofiled one; compare numbers from unprofiled
runs.

``python -m bench.profile FILE [FILE…]`` prints the breakdown of one or more such files: time
by package of the innermost frame (self time), the share of samples whose stack passes
through a few activities that matter for an approval (inclusive time), time by step of the
approval flow, and the top functions. Only the main thread counts (the event loop; SQLite's
driver thread, when there is one, is left out).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import shutil
import signal
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from bench.procs import VENV_BIN

RATE = 200  # samples per second
MAX_SECONDS = 300  # py-spy's own --duration: it stops by itself even if never told to
STOP_SECONDS = 30.0

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")

# Self time: the innermost frame's file, first match wins (paths as py-spy prints them).
PACKAGES: tuple[tuple[str, str], ...] = (
    ("sqlalchemy/sql/", "sqlalchemy: sql (statement building, compile)"),
    ("sqlalchemy/engine/", "sqlalchemy: engine (execute, results)"),
    ("sqlalchemy/pool/", "sqlalchemy: pool"),
    ("sqlalchemy/", "sqlalchemy: other"),
    ("psycopg", "psycopg"),
    ("greenlet", "greenlet"),
    ("httpcore/", "httpcore"),
    ("httpx/", "httpx"),
    ("h11/", "h11"),
    ("anyio/", "anyio"),
    ("aiohttp/", "aiohttp"),
    ("yarl/", "aiohttp"),
    ("multidict/", "aiohttp"),
    ("slack_sdk/", "slack_sdk"),
    ("slack_bolt/", "slack_bolt"),
    ("starlette/", "starlette"),
    ("uvicorn/", "uvicorn"),
    ("httptools", "uvicorn"),
    ("uvloop", "uvloop"),
    ("json/", "json (stdlib)"),
    ("pydantic", "pydantic"),
    ("logging/", "logging"),
    ("asyncio/", "asyncio"),
    ("bot/store/", "occ-bot: store (codec, ops)"),
    ("bot/blocks/", "occ-bot: blocks (card rendering)"),
    ("bot/", "occ-bot: other"),
)

# Inclusive time: a sample counts for every activity its stack passes through.
ACTIVITIES: tuple[tuple[str, str], ...] = (
    ("sqlalchemy/", "SQLAlchemy (all)"),
    ("sqlalchemy/sql/compiler.py", "SQLAlchemy compile (cache misses)"),
    ("cache_key", "SQLAlchemy cache keys"),
    ("psycopg", "psycopg (all)"),
    ("bot/integrations/chatwoot.py", "Chatwoot client (httpx/httpcore included)"),
    ("_assign_requests_to_connections", "httpcore pool bookkeeping"),
    ("slack_sdk/", "slack_sdk Web API (aiohttp included)"),
    ("slack_bolt/", "Bolt dispatch"),
    ("bot/web/", "occ-bot web layer (guard, routes; Bolt included)"),
    ("bot/blocks/", "card rendering"),
    ("uvicorn/", "uvicorn (HTTP server)"),
    ("json/", "json (stdlib)"),
    ("urllib/parse.py", "form-body URL decoding"),
    ("logging/", "logging"),
)

# Steps of an approval (bot/flows/decisions.py approve → replies.send_leased → refresh_card):
# a sample belongs to the innermost step its stack passes through. SQLAlchemy runs its sync
# part in a greenlet, whose stack py-spy sees without the caller: those samples are "DB, caller
# not visible" (they belong to the three transactions).
STEPS: tuple[tuple[str, str], ...] = (
    ("uvicorn/", "inbound click: HTTP server"),
    ("bot/web/", "inbound click: guard + Bolt + ack"),
    ("Background._work", "background, other"),
    ("check (bot/flows/decisions.py", "decide: read the draft (read transaction)"),
    ("Drafts.decide (", "decide: compare-and-set + log row (write transaction)"),
    ("refresh_card (", "card: chat.update ×2 (slack_sdk, aiohttp)"),
    ("card_blocks (", "card: render blocks ×2"),
    ("draft_card_text (", "card: render blocks ×2"),
    ("user_profile (", "reply: operator profile (cached)"),
    ("ChatwootClient.assign (", "reply: Chatwoot assign"),
    ("ChatwootClient.send_reply (", "reply: Chatwoot send"),
    ("ChatwootClient.add_private_note (", "reply: Chatwoot private note"),
    ("Outbox.finish_outbox_message (", "reply: record sent + log row (write transaction)"),
    ("dependency_ok (", "reply: dependency_ok"),
    ("draft_entry (", "decision_log entry"),
    ("healthz (", "/healthz"),
    ("bot/jobs/", "jobs"),
)
GREENLET_ROOTS = ("Connection.", "Engine.", "TransactionalContext.")
OTHER_THREAD_ROOTS = ("Thread._bootstrap (threading.py", "_bootstrap (threading.py")


def py_spy() -> str:
    found = shutil.which("py-spy", path=str(VENV_BIN)) or shutil.which("py-spy")
    if found is None:
        raise RuntimeError("py-spy is not installed: .venv/bin/pip install py-spy")
    return found


@contextlib.asynccontextmanager
async def record(pid: int, out: Path, *, rate: int = RATE) -> AsyncIterator[None]:
    """Sample `pid` while the block runs; collapsed stacks go to `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    log = out.with_suffix(".log").open("wb")
    process = await asyncio.create_subprocess_exec(
        py_spy(),
        "record",
        "--pid",
        str(pid),
        "--rate",
        str(rate),
        "--duration",
        str(MAX_SECONDS),
        "--format",
        "raw",
        "--output",
        str(out),
        stdout=log,
        stderr=log,
    )
    try:
        await asyncio.sleep(0.5)  # attached before the window opens
        if process.returncode is not None:
            raise RuntimeError(f"py-spy exited at once; see {out.with_suffix('.log')}")
        yield
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)  # py-spy writes its output and exits
            try:
                await asyncio.wait_for(process.wait(), STOP_SECONDS)
            except TimeoutError:
                process.kill()
                await process.wait()
        log.close()


def _stacks(paths: Iterable[Path]) -> Counter[tuple[str, ...]]:
    stacks: Counter[tuple[str, ...]] = Counter()
    for path in paths:
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if stack and count.isdigit():
                stacks[tuple(stack.split(";"))] += int(count)
    return stacks


def _file(frame: str) -> str:
    match = FRAME.match(frame)
    return match["file"] if match else frame


def _package(file: str) -> str:
    return next((name for key, name in PACKAGES if key in file), "other (stdlib, C, …)")


def _function(frame: str) -> str:
    """A frame without its line number: `function (file)`."""
    return re.sub(r":\d+\)$", ")", frame)


def _step(stack: tuple[str, ...]) -> str:
    if stack[0].startswith(GREENLET_ROOTS):
        return "DB, caller not visible (SQLAlchemy in its greenlet)"
    found = "event loop, other"
    for frame in stack:
        for key, name in STEPS:
            if key in frame:
                found = name
    return found


def breakdown(paths: Iterable[Path]) -> dict[str, object]:
    """Shares of the main thread's samples: self time by package, inclusive time by activity,
    time by approval step, and the top functions (self)."""
    every = _stacks(paths)
    stacks = {s: c for s, c in every.items() if not s[0].startswith(OTHER_THREAD_ROOTS)}
    total = sum(stacks.values()) or 1
    by_package: Counter[str] = Counter()
    by_activity: Counter[str] = Counter()
    by_step: Counter[str] = Counter()
    by_function: Counter[str] = Counter()
    for stack, count in stacks.items():
        by_package[_package(_file(stack[-1]))] += count
        by_function[_function(stack[-1])] += count
        by_step[_step(stack)] += count
        joined = ";".join(stack)
        for key, name in ACTIVITIES:
            if key in joined:
                by_activity[name] += count

    def shares(counter: Counter[str], top: int | None = None) -> dict[str, float]:
        return {k: round(v / total * 100, 1) for k, v in counter.most_common(top)}

    return {
        "samples": sum(stacks.values()),
        "other_thread_samples": sum(every.values()) - sum(stacks.values()),
        "self_by_package_pct": shares(by_package),
        "inclusive_by_activity_pct": shares(by_activity),
        "by_approval_step_pct": shares(by_step),
        "top_self_functions_pct": shares(by_function, 25),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("files", nargs="+", type=Path, help="py-spy --format raw output")
    args = parser.parse_args(argv)
    result = breakdown(args.files)
    print(
        f"main-thread samples: {result['samples']} "
        f"(other threads, left out: {result['other_thread_samples']})"
    )
    for title, key in (
        ("self time by package", "self_by_package_pct"),
        ("inclusive time by activity", "inclusive_by_activity_pct"),
        ("time by approval step (innermost step on the stack)", "by_approval_step_pct"),
        ("top functions (self)", "top_self_functions_pct"),
    ):
        print(f"\n{title}:")
        for name, pct in result[key].items():  # type: ignore[attr-defined]
            print(f"  {pct:5.1f} %  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
