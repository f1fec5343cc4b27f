"""Reading a shop for Sales Pulse from the Shopify stand-in: paged within the throttle for a
small window, a bulk operation for a large one, each order with its refunds (and the older
orders refunded in the window), the delayed orders and the stock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.demo.standins.shopify import DEFAULT_TOKEN, ShopifyStandin
from bot.domain import ShopOrder, ShopRefund
from bot.integrations import shopify_reads as reads
from bot.integrations.shopify import ShopifyClient, ShopifyUnavailable

NOW = datetime(2026, 12, 3, 20, 0, tzinfo=UTC)


async def read_all(client: ShopifyClient, since: datetime, **kw: Any) -> list[ShopOrder]:
    return [order async for order in await reads.orders_since(client, since, **kw)]


def seed(shop: ShopifyStandin, count: int) -> None:
    for i in range(count):
        shop.add_order(
            NOW - timedelta(minutes=10 * i),
            20.0 + i % 7,
            fulfillment="UNFULFILLED" if i % 50 == 0 else "FULFILLED",
            email=f"c{i}@example.com",
            line_items=[("SKU-1", 1), ("SKU-2", 1 + i % 3)],
        )
    shop.sort_orders()


async def test_a_small_window_is_paged_and_never_throttled():
    """A small bucket (100 points, 50 a second) cannot hold more than one page: the client
    waits for the restore rate instead of being refused."""
    async with ShopifyStandin(maximum=1000, restore_rate=500) as shop:
        seed(shop, 300)
        shop.drain(1000)  # another app of the shop has just emptied the bucket
        client = ShopifyClient(shop.url, DEFAULT_TOKEN)
        stats = reads.ReadStats()
        try:
            orders = await read_all(client, NOW - timedelta(days=8), stats=stats)
        finally:
            await client.aclose()
    assert len(orders) == 300 and not stats.bulk
    assert orders == sorted(orders, key=lambda o: o.created_at)
    assert orders[-1].items == (("SKU-1", 1), ("SKU-2", 1))
    assert orders[-1].total == 20.0 and orders[-1].email == "c0@example.com"
    assert shop.throttled <= 1  # at most the first query, before the client saw the bucket
    assert shop.spent == pytest.approx(client.points_spent)
    assert shop.spent > 1000  # more than the bucket holds: the client had to wait


async def test_a_large_window_is_read_with_a_bulk_operation():
    async with ShopifyStandin(bulk_polls=2) as shop:
        seed(shop, reads.PAGING_LIMIT + 200)
        client = ShopifyClient(shop.url, DEFAULT_TOKEN)
        stats = reads.ReadStats()
        naps: list[float] = []

        async def nap(seconds: float) -> None:
            naps.append(seconds)
            await asyncio.sleep(0.01)  # the stand-in runs the query in a thread meanwhile

        try:
            orders = await read_all(client, NOW - timedelta(days=30), stats=stats, sleep=nap)
        finally:
            await client.aclose()
    assert stats.bulk and len(orders) == reads.PAGING_LIMIT + 200
    # Polled, every BULK_POLL_SECONDS, until it completed (at least the stand-in's 2 polls).
    assert len(naps) >= 2 and set(naps) == {reads.BULK_POLL_SECONDS}
    assert orders[-1].items == (("SKU-1", 1), ("SKU-2", 1))
    assert shop.spent < 10 + 2 * (len(naps) + 1)  # a count, a mutation, the polls: the file is free


async def test_each_run_of_a_long_lived_client_reads_its_own_bulk_file():
    """The bot's client lives from run to run: the next run's file is read afresh, whole."""
    async with ShopifyStandin() as shop:
        seed(shop, reads.PAGING_LIMIT + 10)
        client = ShopifyClient(shop.url, DEFAULT_TOKEN)
        since = NOW - timedelta(days=30)
        try:
            first = await read_all(client, since)
            shop.add_order(NOW + timedelta(minutes=1), 31.0, line_items=[("SKU-3", 2)])
            second = await read_all(client, since)
        finally:
            await client.aclose()
    assert len(first) == reads.PAGING_LIMIT + 10
    assert second[:-1] == first and second[-1].items == (("SKU-3", 2),)


async def test_delayed_orders_and_stock():
    async with ShopifyStandin() as shop:
        seed(shop, 300)  # every 50th is unfulfilled, one per 500 minutes
        shop.add_variant("SKU-1", {"East": 3, "West": 4}, product_title="Hoodie", reorder_point=10)
        shop.add_variant("SKU-2", 50)
        shop.add_variant('PAN-12"', 2, product_title='12" pan')  # quoted and escaped, not cut
        client = ShopifyClient(shop.url, DEFAULT_TOKEN)
        try:
            delayed, total = await reads.delayed_orders(client, NOW - timedelta(hours=24))
            stocks = await reads.stock(client, ["SKU-1", "SKU-2", "SKU-404", 'PAN-12"'])
            facts = await reads.shop_facts(client)
        finally:
            await client.aclose()
    # Orders every 10 min; unfulfilled ones at 0, 500, 1000… min ago: 1500 min and older.
    assert total is None and [o.name for o in delayed] == ["#1251", "#1201", "#1151"]
    assert {s.sku: (s.available, s.reorder_point) for s in stocks} == {
        "SKU-1": (7, 10),
        "SKU-2": (50, None),
        'PAN-12"': (2, None),
    }
    assert facts.timezone.key == "UTC"


async def test_stock_of_more_skus_than_a_page_is_read_in_batches():
    async with ShopifyStandin() as shop:
        skus = [f"SKU-{n:02d}" for n in range(reads.STOCK_BATCH + 5)]
        for n, sku in enumerate(skus):
            shop.add_variant(sku, n)
        client = ShopifyClient(shop.url, DEFAULT_TOKEN)
        try:
            stocks = await reads.stock(client, skus)
        finally:
            await client.aclose()
    assert {s.sku: s.available for s in stocks} == {sku: n for n, sku in enumerate(skus)}


async def test_a_bulk_read_still_running_from_an_earlier_run_is_awaited_then_ours_runs():
    async with ShopifyStandin(bulk_polls=2) as shop:
        seed(shop, reads.PAGING_LIMIT + 10)
        client = ShopifyClient(shop.url, DEFAULT_TOKEN)

        async def nap(seconds: float) -> None:
            await asyncio.sleep(0.01)

        try:
            since = NOW - timedelta(days=30)
            document = reads.BULK_ORDERS.replace(
                "QUERY", reads.changed_since(since).replace('"', '\\\\"')
            )
            earlier = await client.query(reads.RUN_BULK, {"query": document})
            assert earlier["bulkOperationRunQuery"]["bulkOperation"]["status"] == "CREATED"
            orders = await read_all(client, since, sleep=nap)
        finally:
            await client.aclose()
    assert len(orders) == reads.PAGING_LIMIT + 10
    mutations = [r for r in shop.requests if "bulkOperationRunQuery" in r.query]
    assert len(mutations) == 3  # the earlier run's, ours refused meanwhile, ours again


async def test_variants_sharing_a_sku_are_one_stock_and_a_full_page_is_followed():
    async with ShopifyStandin() as shop:
        shop.add_variant("SKU-SHARED", 0, title="Red")
        shop.add_variant("SKU-SHARED", 500, title="Blue")
        for n in range(reads.STOCK_BATCH + 3):  # one SKU, more variants than a page
            shop.add_variant("SKU-MANY", 1, title=f"Size {n}")
        client = ShopifyClient(shop.url, DEFAULT_TOKEN)
        try:
            stocks = await reads.stock(client, ["SKU-SHARED", "SKU-MANY"])
        finally:
            await client.aclose()
    assert {s.sku: s.available for s in stocks} == {
        "SKU-SHARED": 500,
        "SKU-MANY": reads.STOCK_BATCH + 3,
    }


async def test_a_bulk_read_that_never_finishes_is_cancelled_and_reported():
    async with ShopifyStandin(bulk_polls=10**6) as shop:
        seed(shop, reads.PAGING_LIMIT + 10)
        client = ShopifyClient(shop.url, DEFAULT_TOKEN)

        async def nap(seconds: float) -> None:
            await asyncio.sleep(0)

        try:
            with pytest.raises(ShopifyUnavailable, match="cancelled"):
                await read_all(client, NOW - timedelta(days=30), sleep=nap, max_polls=3)
            [cancelled] = (await client.query("{ currentBulkOperation { status } }")).values()
        finally:
            await client.aclose()
    assert cancelled["status"] == "CANCELED"  # it no longer holds a bulk slot


async def test_more_delayed_orders_than_are_listed_are_counted():
    async with ShopifyStandin() as shop:
        for i in range(reads.DELAYED_LISTED + 50):
            shop.add_order(NOW - timedelta(hours=30 + i), 10.0, fulfillment="UNFULFILLED")
        shop.sort_orders()
        client = ShopifyClient(shop.url, DEFAULT_TOKEN)
        try:
            delayed, total = await reads.delayed_orders(client, NOW - timedelta(hours=24))
        finally:
            await client.aclose()
    assert len(delayed) == reads.DELAYED_LISTED and total == reads.DELAYED_LISTED + 50
    assert delayed[0].created_at == min(o.created_at for o in shop.orders)  # oldest first


def refund_some(shop: ShopifyStandin) -> tuple[str, str]:
    """An order from before the window refunded an hour ago, a recent one refunded twice."""
    old = shop.add_order(NOW - timedelta(days=20), 80.0, email="old@example.com")
    shop.add_order(NOW - timedelta(days=21), 80.0)  # older, and never changed: not read
    shop.sort_orders()
    shop.add_refund(old, NOW - timedelta(hours=1), 30.0)
    recent = shop.orders[-2]  # placed 10 minutes ago
    shop.add_refund(recent, NOW - timedelta(minutes=5), 5.0)
    shop.add_refund(recent, NOW - timedelta(minutes=2), 3.5)
    return old.gid, recent.gid


@pytest.mark.parametrize("count", [300, reads.PAGING_LIMIT + 10], ids=["paged", "bulk"])
async def test_orders_come_with_their_refunds_and_an_older_order_refunded_since(count: int):
    async with ShopifyStandin() as shop:
        seed(shop, count)
        old, recent = refund_some(shop)
        client = ShopifyClient(shop.url, DEFAULT_TOKEN)
        stats = reads.ReadStats()

        async def nap(seconds: float) -> None:
            await asyncio.sleep(0.01)

        try:
            orders = await read_all(client, NOW - timedelta(days=8), stats=stats, sleep=nap)
        finally:
            await client.aclose()
    assert stats.bulk == (count > reads.PAGING_LIMIT)
    assert len(orders) == count + 1  # the window's orders and the old one refunded in it
    by_id = {o.id: o for o in orders}
    assert by_id[old].refunds == (ShopRefund(NOW - timedelta(hours=1), 30.0),)
    assert by_id[old].financial == "PARTIALLY_REFUNDED" and by_id[old].total == 80.0
    assert by_id[recent].refunds == (
        ShopRefund(NOW - timedelta(minutes=5), 5.0),
        ShopRefund(NOW - timedelta(minutes=2), 3.5),
    )
    assert sum(len(o.refunds) for o in orders) == 3
    assert shop.throttled <= 1
