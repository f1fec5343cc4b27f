"""Sales Pulse over a shop with 100,000 orders in its window: one `sales-pulse` run's wall time,
peak memory, and the Shopify requests and cost points it used, against the throttle.

The shop is the Shopify stand-in (real GraphQL, Shopify's cost metering, bulk operations) in
a child process, so its memory is not counted; the orders are spread over the 8 days the
triggers read. The run reads them with a bulk operation (one mutation, polls, a JSONL file
that costs no points), evaluates the four triggers and posts the alerts to the Slack
stand-in. Two comparisons, both from the same run:

- the throttle's bound for paging the same window instead: pages × the measured cost of one
  page ÷ the restore rate (the least time paging could take without being throttled);
- the floor for any reader: downloading and parsing the same JSONL file, nothing else.

`python -m bench.sales_pulse [--orders N] [--runs R]`; `bench.run` runs it as a phase.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

from bot.config import Settings
from bot.demo.standins.slack import DEFAULT_TOKEN as SLACK_TOKEN
from bot.demo.standins.slack import SlackStandin
from bot.flows.sales_pulse import pulse
from bot.integrations import shopify_reads as reads
from bot.services import build_services

TIMEZONE = "America/New_York"
SKUS = 200
DAYS = 8


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
                line_items=[(f"SKU-{i % SKUS:03d}", 1), (f"SKU-{(i * 7) % SKUS:03d}", 2)],
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


async def _floor_seconds(url: str) -> tuple[float, int]:
    """Download and parse the last bulk result file: what any reader must at least do."""
    from bot.demo.standins.shopify import DEFAULT_TOKEN
    from bot.integrations.shopify import ShopifyClient

    client = ShopifyClient(url, DEFAULT_TOKEN)
    try:
        operation = (await client.query("{ currentBulkOperation { url } }"))["currentBulkOperation"]
        started = time.perf_counter()
        lines = 0
        async for line in client.lines(operation["url"]):  # the bot's download, its parser
            if line:
                json.loads(line)
                lines += 1
        return time.perf_counter() - started, lines
    finally:
        await client.aclose()


async def measure(orders: int = 100_000, runs: int = 3) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    shop_process = context.Process(target=serve_shop, args=(child, orders), daemon=True)
    shop_process.start()
    try:
        for _ in range(600):  # seeding 100,000 orders takes a while; a crash ends the wait
            if parent.poll(1) or not shop_process.is_alive():
                break
        if not parent.poll(0):
            raise RuntimeError("the Shopify stand-in did not start (see its output above)")
        shop = parent.recv()
        async with SlackStandin() as slack:
            with tempfile.TemporaryDirectory() as folder:
                return await _runs(shop, parent, slack, folder, orders, runs)
    finally:
        if shop_process.is_alive():
            parent.send("stop")
            shop_process.join(30)
        if shop_process.is_alive():
            shop_process.kill()


async def _runs(
    shop: dict[str, Any],
    control: Connection,
    slack: SlackStandin,
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
            slack_api_url=f"{slack.url}/api/",
            database_url=f"sqlite:///{folder}/occ-{run}.db",
            shopify_shop=shop["url"],
            shopify_admin_token="shpat_occ_standin",
        )
        services = await build_services(settings)
        try:
            await services.store.migrate()
            control.send("counters")
            before = control.recv()
            rss_before = _peak_rss_mb()
            started, cpu_started = time.perf_counter(), time.process_time()
            said = await pulse(services)
            seconds = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
            rss_after = _peak_rss_mb()
            control.send("counters")
            after = control.recv()
        finally:
            await services.aclose()
        floor, lines = await _floor_seconds(shop["url"])
        results.append(
            {
                "seconds": seconds,
                "cpu_seconds": cpu,
                "peak_rss_mb": rss_after,
                "rss_growth_mb": rss_after - rss_before,
                "requests": after["requests"] - before["requests"],
                "points": after["spent"] - before["spent"],
                "throttled": after["throttled"] - before["throttled"],
                "floor_seconds": floor,
                "jsonl_lines": lines,
                "said": said,
            }
        )
        print(f"  sales pulse run {run + 1}/{runs}: {seconds:.1f} s", file=sys.stderr)
    page_cost = await _page_cost(shop["url"])
    pages = -(-orders // reads.ORDERS_PAGE)
    paging_points = pages * page_cost
    return {
        "orders": orders,
        "runs": results,
        "median_seconds": statistics.median(r["seconds"] for r in results),
        "median_floor_seconds": statistics.median(r["floor_seconds"] for r in results),
        "median_cpu_seconds": statistics.median(r["cpu_seconds"] for r in results),
        "bucket": {"maximum": shop["maximum"], "restore_rate": shop["restore_rate"]},
        "paging": {
            "pages": pages,
            "page_cost": page_cost,
            "points": paging_points,
            "seconds_at_restore_rate": max(0.0, paging_points - shop["maximum"])
            / shop["restore_rate"],
        },
    }


def markdown(found: dict[str, Any]) -> list[str]:
    runs = found["runs"]
    first = runs[0]
    paging = found["paging"]
    median = found["median_seconds"]
    floor = found["median_floor_seconds"]
    paging_seconds = paging["seconds_at_restore_rate"]
    return [
        f"### 6. Sales Pulse over {found['orders']:,} orders in the window "
        f"(bulk operation; median of {len(runs)} runs)",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| wall time of one `sales-pulse` run | {median:.1f} s |",
        f"| …of which the bot's own CPU (the rest is waiting for the shop's bulk operation) | "
        f"{found['median_cpu_seconds']:.1f} s |",
        f"| floor: download and parse the same JSONL, nothing else | {floor:.1f} s "
        f"(bot CPU = {found['median_cpu_seconds'] / floor:.1f}× floor) |",
        f"| peak memory of the bot process (growth during the first run) | "
        f"{max(r['peak_rss_mb'] for r in runs):.0f} MB ({first['rss_growth_mb']:.0f} MB) |",
        f"| Shopify requests / cost points used (per run) | {first['requests']} / "
        f"{first['points']:g} ({first['throttled']} throttled) |",
        f"| paging the same window instead: pages × cost of a page | {paging['pages']:,} × "
        f"{paging['page_cost']} = {paging['points']:,} points |",
        f"| …least time at the restore rate ({found['bucket']['restore_rate']:g} points/s) | "
        f"{paging_seconds:,.0f} s ({paging_seconds / median:,.0f}× the bulk run) |",
        "",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sales_pulse", description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    if not (1 <= args.orders <= 500_000 and 1 <= args.runs <= 10):
        parser.error("keep it bounded: --orders 1..500000, --runs 1..10")
    found = asyncio.run(measure(args.orders, args.runs))
    print("\n".join(markdown(found)))


if __name__ == "__main__":
    main()
