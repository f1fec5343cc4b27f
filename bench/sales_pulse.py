"""Sales Pulse over a shop with 100,000 orders in its window: one `sales-pulse` run's wall time,
peak memory, and the Shopify requests and cost points it used, against the throttle.

The shop is the Shopify stand-in (real GraphQL, Shopify's cost metering, bulk operations) in
a child process, and so is the Slack stand-in, so that neither's memory or CPU is counted as
the bot's; the orders are spread over the 8 days the triggers read. The run reads them with
a bulk operation (one mutation, polls, a JSONL file that costs no points), evaluates the
four triggers and posts the alerts to the Slack stand-in. Then, in the same process, the next
scheduled run: the shop unchanged, the bot's clock moved on into the job's next window, run by
the job runner as the scheduler runs it; it alerts nothing new, so it draws no chart. Two
comparisons, both from the same runs:

- the throttle's bound for paging the same window instead: pages × the measured cost of one
  page ÷ the restore rate (the least time paging could take without being throttled);
- the floor for any reader: downloading and parsing the same JSONL file, nothing else, with
  the bot's own download (`ShopifyClient.lines`) and `json.loads`; beside it, the bot's read
  of the window alone (the download, each line parsed, each order made and counted in), and
  the same download parsed by `json.loads`'s C scanner, which the bot's read calls directly.

Each shop size is measured in a process of its own, so its peak memory is its own: the bot
keeps no order of its window, so the peak stays flat from 100,000 orders to 1,000,000.

`python -m bench.sales_pulse [--orders N [N ...]] [--runs R] [--runs-large R]`; `bench.run`
runs one size as a phase.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import re
import resource
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from json.scanner import make_scanner
from multiprocessing.connection import Connection
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.demo.standins.slack import DEFAULT_TOKEN as SLACK_TOKEN
from bot.demo.standins.slack import SlackStandin
from bot.flows.sales_pulse import JOB, pulse
from bot.integrations import shopify_reads as reads
from bot.jobs import JOBS
from bot.jobs.runner import run_once
from bot.rules.sales import delay_cutoff
from bot.rules.sales_window import SalesWindow
from bot.services import build_services, utc_now

TIMEZONE = "America/New_York"
SKUS = 200
BEST = 10  # SKUs that sell clearly best (`_units`)
DAYS = 8
LARGE = 300_000  # orders from which a size is measured with `--runs-large` runs
SIZES = (100_000, 1_000_000)


def _units(i: int) -> int:
    """Units of an order's first line: the first `BEST` SKUs sell 5 at a time, so that the
    top sellers stand clear of the rest as in a real shop; were every SKU to sell alike, the
    top 10 would change whenever the window moved by a few orders, and each run would alert
    the SKUs come into it (the same one digit in the file either way)."""
    return 5 if i % SKUS < BEST else 1


def serve_shop(conn: Connection, orders: int, days: float = DAYS) -> None:
    """Child process: the stand-in shop, seeded with ``orders`` over the last ``days``;
    answers "counters" and "stop" on the pipe."""
    from bot.demo.standins.shopify import ShopifyStandin

    async def main() -> None:
        shop = ShopifyStandin(timezone=TIMEZONE, bulk_polls=0)
        now = datetime.now(UTC)
        step = timedelta(days=days) / orders
        for i in range(orders):
            shop.add_order(
                now - step * (orders - i),
                20.0 + i % 80,
                fulfillment="UNFULFILLED" if i % 997 == 0 else "FULFILLED",
                email=f"customer{i % 5000}@example.com",
                line_items=[(f"SKU-{i % SKUS:03d}", _units(i)), (f"SKU-{(i * 7) % SKUS:03d}", 2)],
            )
        for n in range(SKUS):
            shop.add_variant(f"SKU-{n:03d}", 50 + n * 10)
        await shop.start()
        conn.send({"url": shop.url, "maximum": shop.maximum, "restore_rate": shop.restore_rate})
        loop = asyncio.get_running_loop()
        while True:
            message = await loop.run_in_executor(None, conn.recv)
            if message == "stop":
                break
            conn.send(
                {"requests": len(shop.requests), "spent": shop.spent, "throttled": shop.throttled}
            )
        await shop.stop()

    asyncio.run(main())


def serve_slack(conn: Connection) -> None:
    """Child process: the Slack stand-in, so that its side of the posts is not counted as the
    bot's CPU; answers "calls" (how many of each Web API method it received) and "stop" on the
    pipe."""

    async def main() -> None:
        async with SlackStandin() as slack:
            conn.send(slack.url)
            loop = asyncio.get_running_loop()
            while await loop.run_in_executor(None, conn.recv) != "stop":
                conn.send(dict(Counter(call.method for call in slack.calls())))

    asyncio.run(main())


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _page_cost(url: str) -> int:
    """The actual cost of one page of `ORDERS_PAGE` orders, as the shop meters it."""
    from bot.demo.standins.shopify import DEFAULT_TOKEN
    from bot.integrations.shopify import ShopifyClient

    client = ShopifyClient(url, DEFAULT_TOKEN)
    try:
        since = datetime.now(UTC) - timedelta(days=DAYS)
        await client.query(reads.ORDERS, {"query": reads.changed_since(since), "after": None})
        return int(client.points_spent)
    finally:
        await client.aclose()


async def _file_url(url: str) -> str:
    from bot.demo.standins.shopify import DEFAULT_TOKEN
    from bot.integrations.shopify import ShopifyClient

    client = ShopifyClient(url, DEFAULT_TOKEN)
    try:
        return (await client.query("{ currentBulkOperation { url } }"))["currentBulkOperation"][
            "url"
        ]
    finally:
        await client.aclose()


def _scanned(line: str) -> Any:
    return _SCAN(line, 0)[0]


_SCAN = make_scanner(json.JSONDecoder())  # json.loads's C scanner, which the bot's read calls


async def _floor_seconds(
    shop_url: str, file_url: str, parse: Callable[[str], Any] = json.loads
) -> tuple[float, int]:
    """CPU to download and parse the last bulk result file: what any reader must at least
    do, with the bot's download and ``json.loads`` (``parse``: for the row beside it, the
    C scanner the bot's read now calls without `json.loads`'s Python layers)."""
    from bot.demo.standins.shopify import DEFAULT_TOKEN
    from bot.integrations.shopify import ShopifyClient

    client = ShopifyClient(shop_url, DEFAULT_TOKEN)
    try:
        started = time.process_time()
        lines = 0
        async for line in client.lines(file_url):
            if line:
                parse(line)
                lines += 1
        return time.process_time() - started, lines
    finally:
        await client.aclose()


async def _read_seconds(shop_url: str, file_url: str) -> float:
    """CPU for the bot's read of the same file alone: each order made and counted into the
    window, as a run does."""
    from bot.demo.standins.shopify import DEFAULT_TOKEN
    from bot.integrations.shopify import ShopifyClient
    from bot.rules.sales import SalesThresholds

    client = ShopifyClient(shop_url, DEFAULT_TOKEN)
    try:
        now = datetime.now(UTC)
        window = SalesWindow(now, ZoneInfo(TIMEZONE), delay_cutoff(now, SalesThresholds()))
        started = time.process_time()
        async for batch in reads.order_batches_in_file(client.lines(file_url)):
            window.add_all(batch)
        return time.process_time() - started
    finally:
        await client.aclose()


async def measure(orders: int = 100_000, runs: int = 3) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    shop_process = context.Process(target=serve_shop, args=(child, orders), daemon=True)
    shop_process.start()
    slack_control, slack_child = context.Pipe()
    slack_process = context.Process(target=serve_slack, args=(slack_child,), daemon=True)
    slack_process.start()
    try:
        for _ in range(600):  # seeding 100,000 orders takes a while; a crash ends the wait
            if parent.poll(1) or not shop_process.is_alive():
                break
        if not parent.poll(0):
            raise RuntimeError("the Shopify stand-in did not start (see its output above)")
        shop = parent.recv()
        if not slack_control.poll(60):
            raise RuntimeError("the Slack stand-in did not start (see its output above)")
        slack_url = slack_control.recv()
        with tempfile.TemporaryDirectory() as folder:
            return await _runs(shop, parent, slack_control, slack_url, folder, orders, runs)
    finally:
        if slack_process.is_alive():
            slack_control.send("stop")
            slack_process.join(30)
        if slack_process.is_alive():
            slack_process.kill()
        if shop_process.is_alive():
            parent.send("stop")
            shop_process.join(30)
        if shop_process.is_alive():
            shop_process.kill()


class _Clock:
    """The bot's clock: the time now, moved on by ``ahead`` (the next run's window)."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def __call__(self) -> datetime:
        return utc_now() + self.ahead


def _slack_calls(slack: Connection) -> Counter[str]:
    slack.send("calls")
    return Counter(slack.recv())


async def _measured(
    work: Any, control: Connection, slack: Connection
) -> tuple[Any, dict[str, Any]]:
    """Await ``work``: what it returned, its wall time and CPU, the shop's requests, cost points
    and throttles and the Slack calls it made."""
    control.send("counters")
    before = control.recv()
    calls = _slack_calls(slack)
    started, cpu_started = time.perf_counter(), time.process_time()
    said = await work
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    control.send("counters")
    after = control.recv()
    return said, {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "requests": after["requests"] - before["requests"],
        "points": after["spent"] - before["spent"],
        "throttled": after["throttled"] - before["throttled"],
        "slack_calls": dict(_slack_calls(slack) - calls),
    }


async def _runs(
    shop: dict[str, Any],
    control: Connection,
    slack: Connection,
    slack_url: str,
    folder: str,
    orders: int,
    runs: int,
) -> dict[str, Any]:
    results = []
    for run in range(runs):
        settings = Settings(
            _env_file=None,
            slack_bot_token=SLACK_TOKEN,
            slack_signing_secret="bench",
            slack_api_url=f"{slack_url}/api/",
            database_url=f"sqlite:///{folder}/occ-{run}.db",
            shopify_shop=shop["url"],
            shopify_admin_token="shpat_occ_standin",
        )
        clock = _Clock()
        services = await build_services(settings, clock=clock)
        try:
            await services.store.migrate()
            rss_before = _peak_rss_mb()
            said, first = await _measured(pulse(services), control, slack)
            rss_after = _peak_rss_mb()
            # The next scheduled run: the shop unchanged, the clock in the job's next window,
            # run as the scheduler runs it (its run lease, the run recorded).
            clock.ahead = timedelta(seconds=JOBS[JOB].every_seconds(settings))
            done, following = await _measured(run_once(services, JOBS[JOB]), control, slack)
            if done is None:
                raise RuntimeError("the next run found its window taken")
            following["said"] = done.detail
        finally:
            await services.aclose()
        file_url = await _file_url(shop["url"])
        floors, reads_alone, scanner_floors = [], [], []
        for _ in range(3):  # alternated, so that a burst of load falls on each
            floor, lines = await _floor_seconds(shop["url"], file_url)
            floors.append(floor)
            reads_alone.append(await _read_seconds(shop["url"], file_url))
            scanner_floors.append((await _floor_seconds(shop["url"], file_url, _scanned))[0])
        results.append(
            {
                **first,
                "peak_rss_mb": rss_after,
                "rss_growth_mb": rss_after - rss_before,
                "floor_seconds": statistics.median(floors),
                "scanner_floor_seconds": statistics.median(scanner_floors),
                "read_seconds": statistics.median(reads_alone),
                "jsonl_lines": lines,
                "said": said,
                "next": following,
            }
        )
        print(
            f"  sales pulse run {run + 1}/{runs}: {first['seconds']:.1f} s; "
            f"the next run {following['seconds']:.1f} s ({following['said']})",
            file=sys.stderr,
        )
    page_cost = await _page_cost(shop["url"])
    pages = -(-orders // reads.ORDERS_PAGE)
    paging_points = pages * page_cost
    return {
        "orders": orders,
        "runs": results,
        "median_seconds": statistics.median(r["seconds"] for r in results),
        "median_floor_seconds": statistics.median(r["floor_seconds"] for r in results),
        "median_scanner_floor_seconds": statistics.median(
            r["scanner_floor_seconds"] for r in results
        ),
        "median_cpu_seconds": statistics.median(r["cpu_seconds"] for r in results),
        "median_read_seconds": statistics.median(r["read_seconds"] for r in results),
        "median_next_cpu_seconds": statistics.median(r["next"]["cpu_seconds"] for r in results),
        "median_next_seconds": statistics.median(r["next"]["seconds"] for r in results),
        "peak_rss_mb": _peak_rss_mb(),
        "bucket": {"maximum": shop["maximum"], "restore_rate": shop["restore_rate"]},
        "paging": {
            "pages": pages,
            "page_cost": page_cost,
            "points": paging_points,
            "seconds_at_restore_rate": max(0.0, paging_points - shop["maximum"])
            / shop["restore_rate"],
        },
    }


def _measure_in_process(conn: Connection, orders: int, runs: int) -> None:
    """Child process: one size measured, so that the peak memory is its own."""
    try:
        conn.send(asyncio.run(measure(orders, runs)))
    except Exception as error:  # said in the parent, which carries on with the other sizes
        conn.send({"orders": orders, "error": repr(error)})


def measure_sizes(sizes: list[int], runs: int, runs_large: int) -> list[dict[str, Any]]:
    """Each size in a process of its own, smallest first."""
    context = multiprocessing.get_context("spawn")
    found = []
    for orders in sorted(sizes):
        parent, child = context.Pipe()
        count = runs if orders < LARGE else runs_large
        worker = context.Process(target=_measure_in_process, args=(child, orders, count))
        worker.start()
        print(f"  sales pulse: {orders:,} orders, {count} runs", file=sys.stderr)
        while worker.is_alive() and not parent.poll(5):
            pass
        found.append(parent.recv() if parent.poll(0) else {"orders": orders, "error": "no answer"})
        worker.join(60)
    return found


def markdown(found: dict[str, Any]) -> list[str]:
    """One size's section (`bench.run`'s phase)."""
    return [
        f"### 6. Sales Pulse over {found['orders']:,} orders in the window "
        f"(bulk operation; median of {len(found['runs'])} runs)",
        "",
        *_table([found]),
        "",
        *_said([found]),
        "",
        *_paging(found),
        "",
    ]


def markdown_sizes(sizes: list[dict[str, Any]]) -> list[str]:
    measured = [found for found in sizes if "error" not in found]
    lines = [
        "### 6. Sales Pulse over "
        + " and ".join(f"{found['orders']:,}" for found in sizes)
        + " orders in the window (bulk operation; each size in a process of its own)",
        "",
        *(_table(measured) if measured else []),
        *(
            f"- {found['orders']:,} orders: failed: {found['error']}"
            for found in sizes
            if "error" in found
        ),
    ]
    if measured:
        lines += ["", *_said(measured), "", *_paging(measured[0])]
    return [*lines, ""]


def _table(sizes: list[dict[str, Any]]) -> list[str]:
    def row(name: str, value: Any) -> str:
        return f"| {name} | " + " | ".join(value(found) for found in sizes) + " |"

    return [
        "| measure | " + " | ".join(f"{f['orders']:,} orders" for f in sizes) + " |",
        "| --- |" + " --- |" * len(sizes),
        row("runs (median of)", lambda f: str(len(f["runs"]))),
        row("wall time of one `sales-pulse` run", lambda f: f"{f['median_seconds']:.1f} s"),
        row(
            "…the bot's CPU in it (the rest is waiting for the shop's bulk operation)",
            lambda f: f"{f['median_cpu_seconds']:.2f} s",
        ),
        row(
            "floor: CPU to download and parse the same JSONL (bot's download, `json.loads`)",
            lambda f: f"{f['median_floor_seconds']:.2f} s",
        ),
        row(
            f"**bot CPU ÷ floor, first run, {_first_run(sizes)}**",
            lambda f: f"**{f['median_cpu_seconds'] / f['median_floor_seconds']:.2f}×**",
        ),
        row(
            "**bot CPU ÷ floor, the next run, nothing new** (the shop unchanged, the job's next "
            "window, run as scheduled)",
            lambda f: f"**{f['median_next_cpu_seconds'] / f['median_floor_seconds']:.2f}×**",
        ),
        row(
            "…the next run's wall time / bot CPU",
            lambda f: f"{f['median_next_seconds']:.1f} s / {f['median_next_cpu_seconds']:.2f} s",
        ),
        row(
            "the read alone (floor + each order counted in) ÷ floor",
            lambda f: f"{f['median_read_seconds'] / f['median_floor_seconds']:.2f}×",
        ),
        row(
            "(beside the floor: the same download parsed by `json.loads`'s C scanner, which the "
            "bot's read calls directly, ÷ floor)",
            lambda f: f"{f['median_scanner_floor_seconds'] / f['median_floor_seconds']:.2f}×",
        ),
        row(
            "the rest of the run: CPU − the read alone (alerts and their charts, database, polls)",
            lambda f: f"{f['median_cpu_seconds'] - f['median_read_seconds']:.2f} s",
        ),
        row(
            "…the next run's rest: CPU − the read alone (database, comparison, snapshot, polls)",
            lambda f: f"{f['median_next_cpu_seconds'] - f['median_read_seconds']:.2f} s",
        ),
        row(
            "Slack calls, first run / the next run (first of the runs)",
            lambda f: (
                f"{_calls(f['runs'][0]['slack_calls'])} / "
                f"{_calls(f['runs'][0]['next']['slack_calls'])}"
            ),
        ),
        row(
            "peak memory of the bot process (growth during the first run)",
            lambda f: f"{f['peak_rss_mb']:.0f} MB ({f['runs'][0]['rss_growth_mb']:.0f} MB)",
        ),
        row(
            "Shopify requests / cost points (first run)",
            lambda f: (
                f"{f['runs'][0]['requests']} / {f['runs'][0]['points']:g}"
                f" ({f['runs'][0]['throttled']} throttled)"
            ),
        ),
    ]


def _first_run(sizes: list[dict[str, Any]]) -> str:
    """E.g. "11 new alerts (11 charts, matplotlib loaded)", from what the first runs posted."""
    said = {
        (
            _alerted(f["runs"][0]["said"]),
            f["runs"][0]["slack_calls"].get("files.completeUploadExternal", 0),
        )
        for f in sizes
    }
    if len(said) != 1:
        return "every alert new (a chart each, matplotlib loaded)"
    ((alerts, charts),) = said
    return f"{alerts} new alerts ({charts} charts, matplotlib loaded)"


def _alerted(said: str) -> int:
    found = re.search(r"(\d+) alerted", said)
    return int(found.group(1)) if found else 0


def _calls(calls: dict[str, int]) -> str:
    return ", ".join(f"{n} {method}" for method, n in sorted(calls.items())) or "none"


def _said(sizes: list[dict[str, Any]]) -> list[str]:
    """What each size's first run returned and its next run recorded (first of the runs)."""
    return [
        f"- {f['orders']:,} orders: first run: {f['runs'][0]['said']}; "
        f"the next run: {f['runs'][0]['next']['said']}"
        for f in sizes
    ]


def _paging(found: dict[str, Any]) -> list[str]:
    paging = found["paging"]
    seconds = paging["seconds_at_restore_rate"]
    return [
        f"Paging the {found['orders']:,} orders instead: {paging['pages']:,} pages × "
        f"{paging['page_cost']} points = {paging['points']:,} points, at least {seconds:,.0f} s "
        f"at the restore rate ({found['bucket']['restore_rate']:g} points/s): "
        f"{seconds / found['median_seconds']:,.0f}× the bulk run."
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sales_pulse", description=__doc__)
    parser.add_argument("--orders", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--runs-large", type=int, default=1, help=f"runs for sizes of {LARGE:,} orders and more"
    )
    args = parser.parse_args(argv)
    if not (
        all(1 <= n <= 1_000_000 for n in args.orders)
        and len(args.orders) <= 4
        and 1 <= args.runs <= 10
        and 1 <= args.runs_large <= 5
    ):
        parser.error(
            "keep it bounded: up to 4 sizes of --orders 1..1000000, --runs 1..10, --runs-large 1..5"
        )
    print("\n".join(markdown_sizes(measure_sizes(args.orders, args.runs, args.runs_large))))


if __name__ == "__main__":
    main()
