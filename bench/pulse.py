"""`/occ pulse` over a shop with 100,000 orders in its window: how long the answer takes, beside
`GET /healthz` in the same run, and that no question reads the shop.

The shop is the Shopify stand-in in a child process, seeded as `bench.sales_pulse` seeds it
but over the last 7 days, so that every order is in the window a Sales Pulse run reads.
One `sales-pulse` run (in this process, on the SQLite file occ-bot then serves from) reads it
with a bulk operation and keeps the snapshot; then `occ-bot serve` (its own process, with
`OCC_SALES_PULSE_MINUTES` long enough that the snapshot stays fresh) answers:

- **one at a time**: signed `/occ pulse` slash commands, each sent once the answer to the one
  before and its chart (in the asker's direct messages) are in; answer time = the Slack
  stand-in's receipt of the response_url post − the client's clock just before sending. A
  `GET /healthz` (a database ping) is timed after each;
- **50 at once**: 50 people asking together, answer times pooled.

The Slack stand-in runs in this process (its receipt times are this process's clock).
`python -m bench.pulse [--orders N] [--questions N] [--runs R]`; `bench.run` runs it as a phase.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sqlite3
import statistics
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

from bench.common import HOST, INTAKE_TOKEN, SIGNING_SECRET
from bench.e2e import percentile
from bench.procs import OCC_BOT, Child, child_env, free_port, spawn, wait_healthy
from bench.sales_pulse import serve_shop
from bot.config import Settings
from bot.demo.standins.interactions import signature_headers, slash_command
from bot.demo.standins.slack import DEFAULT_TOKEN as SLACK_TOKEN
from bot.demo.standins.slack import SlackStandin, SlackUser
from bot.flows.sales_pulse import pulse
from bot.services import build_services

SHOP_TOKEN = "shpat_occ_standin"
ASKERS = 50
ANSWER_TIMEOUT = 30.0
UPLOADED = "files.completeUploadExternal"  # the chart is in the asker's DM


async def measure(orders: int = 100_000, questions: int = 200, runs: int = 3) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    # Every order in the run's window (midnight 7 days ago, shop time, to now).
    shop_process = context.Process(target=serve_shop, args=(child, orders, 7), daemon=True)
    shop_process.start()
    try:
        for _ in range(600):  # seeding 100,000 orders takes a while; a crash ends the wait
            if parent.poll(1) or not shop_process.is_alive():
                break
        if not parent.poll(0):
            raise RuntimeError("the Shopify stand-in did not start (see its output above)")
        shop = parent.recv()
        users = [SlackUser(f"U0ASKER{n:03d}", f"asker{n}") for n in range(ASKERS)]
        async with SlackStandin(users=users) as slack:
            with tempfile.TemporaryDirectory() as folder:
                return await _measure(Path(folder), shop, parent, slack, questions, runs, orders)
    finally:
        if shop_process.is_alive():
            parent.send("stop")
            shop_process.join(30)
        if shop_process.is_alive():
            shop_process.kill()


async def _measure(
    folder: Path,
    shop: dict[str, Any],
    control: Connection,
    slack: SlackStandin,
    questions: int,
    runs: int,
    orders: int,
) -> dict[str, Any]:
    database = f"sqlite:///{folder / 'occ.db'}"
    started = time.perf_counter()
    said = await _snapshot(database, shop["url"], slack)
    snapshot_seconds = time.perf_counter() - started
    bot, url = await _serve(folder, database, shop["url"], slack)
    try:
        async with httpx.AsyncClient(timeout=ANSWER_TIMEOUT) as http:
            control.send("counters")
            before = control.recv()
            cpu_before = bot.cpu_seconds()
            answers: list[float] = []
            acks: list[float] = []
            healthz: list[float] = []
            charts: list[float] = []
            for run in range(runs):
                found = await _one_at_a_time(http, url, slack, questions, f"r{run}")
                answers += found["answers"]
                acks += found["acks"]
                healthz += found["healthz"]
                charts += found["charts"]
                print(f"  /occ pulse run {run + 1}/{runs} done", file=sys.stderr)
            burst = await _at_once(http, url, slack)
            control.send("counters")
            after = control.recv()
            cpu = bot.cpu_seconds() - cpu_before
    finally:
        bot.stop()
    return {
        "orders": orders,
        "questions": len(answers),
        "snapshot_run_seconds": snapshot_seconds,
        "snapshot_run": said,
        "snapshot_bytes": _snapshot_bytes(folder / "occ.db"),
        "answer_ms": _summary(answers),
        "ack_ms": _summary(acks),
        "healthz_ms": _summary(healthz),
        "chart_ms": _summary(charts),
        "burst_ms": _summary(burst),
        "shopify_requests_while_asked": after["requests"] - before["requests"],
        "bot_cpu_ms_per_question": cpu * 1000 / (len(answers) + ASKERS),
    }


async def _snapshot(database: str, shop_url: str, slack: SlackStandin) -> str:
    """One Sales Pulse run, as the job makes it: it keeps the snapshot occ-bot answers from."""
    settings = Settings(
        _env_file=None,
        slack_bot_token=SLACK_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
        database_url=database,
        shopify_shop=shop_url,
        shopify_admin_token=SHOP_TOKEN,
    )
    services = await build_services(settings)
    try:
        await services.store.migrate()
        return await pulse(services)
    finally:
        await services.aclose()


async def _serve(
    folder: Path, database: str, shop_url: str, slack: SlackStandin
) -> tuple[Child, str]:
    port = free_port()
    env = child_env(
        {
            "SLACK_BOT_TOKEN": SLACK_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "DATABASE_URL": database,
            "OCC_INTAKE_TOKEN": INTAKE_TOKEN,
            "OCC_OPERATORS": "",
            "SHOPIFY_SHOP": shop_url,
            "SHOPIFY_ADMIN_TOKEN": SHOP_TOKEN,
            "OCC_SALES_PULSE_MINUTES": "1440",  # the snapshot stays fresh: no run meanwhile
        }
    )
    child = spawn(
        "occ-pulse",
        [OCC_BOT, "serve", "--host", HOST, "--port", str(port)],
        env,
        log_dir=folder,
        cwd=folder,
    )
    url = f"http://{HOST}:{port}"
    try:
        await wait_healthy(child, f"{url}/healthz")
    except BaseException:
        child.stop()
        raise
    return child, url


async def _ask(http: httpx.AsyncClient, url: str, slack: SlackStandin, user: str, hook: str):
    """Send `/occ pulse` as Slack does; (ack ms, answer ms) once its answer is in."""
    body = slash_command(
        user=user,
        command="/occ",
        text="pulse",
        channel="C0APPROVALS",
        response_url=slack.response_url(hook),
    )
    headers = signature_headers(SIGNING_SECRET, body) | {
        "Content-Type": "application/x-www-form-urlencoded"
    }
    sent = time.time()
    response = await http.post(f"{url}/slack/events", content=body, headers=headers)
    ack = (time.time() - sent) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"/occ pulse answered {response.status_code}: {response.text}")
    answer = await slack.wait_for(lambda: _answered(slack, hook), ANSWER_TIMEOUT)
    if "*Sales Pulse*" not in answer.args.get("text", ""):
        raise RuntimeError(f"not the tile: {answer.args.get('text')!r}")
    return ack, (answer.at - sent) * 1000


def _answered(slack: SlackStandin, hook: str) -> Any:
    return next((c for c in slack.calls("response_url") if c.args.get("hook") == hook), None)


async def _one_at_a_time(
    http: httpx.AsyncClient, url: str, slack: SlackStandin, questions: int, tag: str
) -> dict[str, list[float]]:
    answers, acks, healthz, charts = [], [], [], []
    user = "U0ASKER000"
    for n in range(questions):
        uploads = len(slack.calls(UPLOADED))
        sent = time.time()
        ack, answer = await _ask(http, url, slack, user, f"{tag}-{n}")
        await slack.wait_for(lambda u=uploads: len(slack.calls(UPLOADED)) > u, ANSWER_TIMEOUT)
        charts.append((slack.calls(UPLOADED)[-1].at - sent) * 1000 - answer)
        acks.append(ack)
        answers.append(answer)
        started = time.perf_counter()
        checked = await http.get(f"{url}/healthz")
        healthz.append((time.perf_counter() - started) * 1000)
        if checked.status_code != 200:
            raise RuntimeError(f"/healthz answered {checked.status_code}")
    return {"answers": answers, "acks": acks, "healthz": healthz, "charts": charts}


async def _at_once(http: httpx.AsyncClient, url: str, slack: SlackStandin) -> list[float]:
    files = len(slack.files())
    found = await asyncio.gather(
        *(_ask(http, url, slack, f"U0ASKER{n:03d}", f"burst-{n}") for n in range(ASKERS))
    )
    await slack.wait_for(lambda: len(slack.files()) >= files + ASKERS, ANSWER_TIMEOUT)
    return [answer for _, answer in found]


def _snapshot_bytes(path: Path) -> int:
    with sqlite3.connect(path) as db:
        [(size,)] = db.execute("select length(snapshot) from sales_snapshots").fetchall()
    return int(size)


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "count": len(values),
        "p50": round(statistics.median(values), 2),
        "p99": round(percentile(values, 99), 2),
        "max": round(max(values), 2),
    }


def markdown(found: dict[str, Any]) -> list[str]:
    answer, healthz, ack = found["answer_ms"], found["healthz_ms"], found["ack_ms"]
    burst, chart = found["burst_ms"], found["chart_ms"]
    return [
        f"### 10. `/occ pulse` over a shop of {found['orders']:,} orders in the window "
        f"({found['questions']} questions one at a time, then {ASKERS} at once; SQLite)",
        "",
        "| measure | p50 | p99 | max | baseline (same run) |",
        "| --- | --- | --- | --- | --- |",
        f"| answer (command sent → answer at the response_url; goal 300 ms, budget 3 s) | "
        f"{answer['p50']:.1f} ms | {answer['p99']:.1f} ms | {answer['max']:.1f} ms | "
        f"`GET /healthz`: {healthz['p50']:.1f} / {healthz['p99']:.1f} ms |",
        f"| the command's acknowledgement | {ack['p50']:.1f} ms | {ack['p99']:.1f} ms | "
        f"{ack['max']:.1f} ms | |",
        f"| answer → trend chart in the asker's DM | {chart['p50']:.0f} ms | "
        f"{chart['p99']:.0f} ms | {chart['max']:.0f} ms | |",
        f"| answer, {ASKERS} people asking at once | {burst['p50']:.0f} ms | "
        f"{burst['p99']:.0f} ms | {burst['max']:.0f} ms | |",
        "",
        f"Shopify requests while the {found['questions'] + ASKERS} questions were answered: "
        f"{found['shopify_requests_while_asked']}; occ-bot's CPU per question, chart included: "
        f"{found['bot_cpu_ms_per_question']:.0f} ms. The snapshot they were answered from: "
        f"{found['snapshot_bytes']:,} bytes of JSON, kept by one `sales-pulse` run "
        f"({found['snapshot_run_seconds']:.0f} s: {found['snapshot_run']}). At once, the "
        "questions queue for occ-bot's one event loop: each costs its CPU share above.",
        "",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pulse", description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    if not (1 <= args.orders <= 500_000 and 1 <= args.questions <= 2000 and 1 <= args.runs <= 10):
        parser.error("keep it bounded: --orders 1..500000, --questions 1..2000, --runs 1..10")
    found = asyncio.run(measure(args.orders, args.questions, args.runs))
    print("\n".join(markdown(found)))


if __name__ == "__main__":
    main()
