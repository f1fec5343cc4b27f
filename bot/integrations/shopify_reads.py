"""What Sales Pulse reads from Shopify: the shop, a window of orders with their refunds, the
delayed orders and the stock of a few SKUs, as `bot.domain` values.

The window is the orders *updated* since its start: every order created since then, and every
older one changed since, so that a refund today on an older order is read (a refund is only
ever read through its order's `refunds`; docs/real-services.md, 17).

A window of up to `PAGING_LIMIT` orders is paged (`ORDERS_PAGE` a page, within the single
query cost limit of 1,000). A larger one is read with a bulk operation: one mutation, a few
polls, and a JSONL file that costs no points, since paging 100,000 orders would take
Shopify's throttle over an hour (and Shopify stops paging at 25,000 objects anyway).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from json.scanner import make_scanner
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain import ShopOrder, ShopRefund, SkuStock
from bot.integrations.shopify import ShopifyClient, ShopifyRejected, ShopifyUnavailable, quoted

PAGING_LIMIT = 1000
ORDERS_PAGE = 50  # 2 + 50 × (order, money bag, money, 10 line items, refunds) stays under 1,000
LINE_ITEMS = 10  # per order when paging; a bulk read has them all
DELAYED_LISTED = 250  # delayed orders read (and listed, and looked for in Chatwoot)
RUNNING_BULK = re.compile(r"gid://shopify/BulkOperation/\d+")
STOCK_BATCH = 25  # SKUs a query: 25 × (variant, inventory, 10 locations) < 1,000 points
BULK_POLL_SECONDS = 2.0
BULK_MAX_POLLS = 900  # half an hour at 2 s
# Orders of a bulk file handed on at a time, for `SalesWindow.add_all`, which looks up what it
# needs of the window once a batch; 5,000 cost more, the collector walking what a batch holds
# (docs/benchmarks.md, 6).
FILE_BATCH = 500

ORDER_FIELDS = """
id name createdAt cancelledAt email displayFinancialStatus displayFulfillmentStatus
totalPriceSet { shopMoney { amount } }
"""

# Each refund's time and money; an order has few, so they are a list, not a connection.
REFUND_FIELDS = "refunds { createdAt totalRefundedSet { shopMoney { amount } } }"

SHOP = "query ShopFacts { shop { ianaTimezone currencyCode myshopifyDomain } }"

COUNT = "query OrdersCount($query: String!) { ordersCount(query: $query, limit: null) { count } }"

ORDERS = f"""
query Orders($query: String!, $after: String) {{
  orders(first: {ORDERS_PAGE}, after: $after, query: $query, sortKey: CREATED_AT) {{
    edges {{ node {{ {ORDER_FIELDS} {REFUND_FIELDS}
      lineItems(first: {LINE_ITEMS}) {{ edges {{ node {{ sku quantity }} }} }}
    }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""

DELAYED = f"""
query DelayedOrders($query: String!, $after: String) {{
  orders(first: 50, after: $after, query: $query, sortKey: CREATED_AT) {{
    edges {{ node {{ {ORDER_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""

BULK_ORDERS = f"""
{{
  orders(query: "QUERY", sortKey: CREATED_AT) {{
    edges {{ node {{ {ORDER_FIELDS} {REFUND_FIELDS}
      lineItems {{ edges {{ node {{ sku quantity }} }} }}
    }} }}
  }}
}}
"""

# Grouped: each order's line items right below it, so the file is read one order at a time
# and no order is kept. Since API version 2026-01 ungrouped is the default, where a line item
# may be anywhere below its order (shopify.dev/changelog/bulk-operations-group-objects-default-
# changed-to-false; docs/real-services.md, 22).
RUN_BULK = """
mutation RunBulk($query: String!) {
  bulkOperationRunQuery(query: $query, groupObjects: true) {
    bulkOperation { id status }
    userErrors { field message }
  }
}
"""

CANCEL_BULK = """
mutation CancelBulk($id: ID!) {
  bulkOperationCancel(id: $id) { bulkOperation { id status } userErrors { field message } }
}
"""

POLL_BULK = """
query PollBulk($id: ID!) {
  node(id: $id) { ... on BulkOperation { id status errorCode objectCount url } }
}
"""

STOCK = f"""
query Stock($query: String!, $after: String) {{
  productVariants(first: {STOCK_BATCH}, after: $after, query: $query) {{
    edges {{ node {{
      id sku displayName
      product {{ id }}
      metafield(namespace: "occ", key: "reorder_point") {{ value }}
      inventoryItem {{ inventoryLevels(first: 10) {{ edges {{ node {{
        quantities(names: ["available"]) {{ name quantity }}
      }} }} }} }}
    }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""


@dataclass(frozen=True)
class ShopFacts:
    timezone: ZoneInfo
    currency: str
    domain: str  # store.myshopify.com


@dataclass
class ReadStats:
    bulk: bool = False


async def shop_facts(client: ShopifyClient) -> ShopFacts:
    shop = (await client.query(SHOP)).get("shop") or {}
    try:
        timezone = ZoneInfo(str(shop.get("ianaTimezone") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ShopifyRejected(f"unknown shop time zone {shop.get('ianaTimezone')!r}") from error
    return ShopFacts(
        timezone, str(shop.get("currencyCode") or "USD"), str(shop.get("myshopifyDomain") or "")
    )


def changed_since(since: datetime) -> str:
    """The orders created or updated since ``since``: an order is updated when it is created."""
    return f"updated_at:>='{_iso(since)}'"


async def count_orders(client: ShopifyClient, query: str) -> int:
    data = await client.query(COUNT, {"query": query})
    return int((data.get("ordersCount") or {}).get("count") or 0)


async def orders_since(
    client: ShopifyClient,
    since: datetime,
    *,
    stats: ReadStats | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    max_polls: int = BULK_MAX_POLLS,
) -> AsyncIterator[ShopOrder]:
    """Every order created or updated since ``since`` (one refunded since, say), oldest first,
    one at a time as it is read."""
    batches = await order_batches_since(
        client, since, stats=stats, sleep=sleep, max_polls=max_polls
    )
    return (order async for batch in batches for order in batch)


async def order_batches_since(
    client: ShopifyClient,
    since: datetime,
    *,
    stats: ReadStats | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    max_polls: int = BULK_MAX_POLLS,
) -> AsyncIterator[list[ShopOrder]]:
    """The orders of `orders_since`, a batch at a time as they are read (see
    `order_batches_in_file`)."""
    query = changed_since(since)
    if await count_orders(client, query) <= PAGING_LIMIT:
        nodes = client.nodes(ORDERS, "orders", {"query": query})
        return ([_order(node)] async for node in nodes)
    if stats is not None:
        stats.bulk = True
    url = await _bulk_file(client, query, sleep, max_polls)
    return order_batches_in_file(client.lines(url)) if url is not None else _no_orders()


async def _no_orders() -> AsyncIterator[list[ShopOrder]]:
    return
    yield  # an async generator that yields nothing


async def delayed_orders(
    client: ShopifyClient, cutoff: datetime
) -> tuple[list[ShopOrder], int | None]:
    """Paid, unfulfilled (or partly fulfilled) orders created before ``cutoff``: the oldest
    `DELAYED_LISTED` of them, and how many there are in all when there are more than that
    (None when the list holds every one of them)."""
    queries = [
        f"financial_status:paid fulfillment_status:{status} status:open "
        f"created_at:<'{_iso(cutoff)}'"
        for status in ("unfulfilled", "partial")
    ]
    found: list[ShopOrder] = []
    cut_short = False
    for query in queries:
        read = 0
        async for node in client.nodes(DELAYED, "orders", {"query": query}):
            if read == DELAYED_LISTED:
                cut_short = True
                break
            found.append(_order(node))
            read += 1
    found.sort(key=lambda o: (o.created_at, o.id))
    if not cut_short:
        return found[:DELAYED_LISTED], len(found) if len(found) > DELAYED_LISTED else None
    total = sum([await count_orders(client, query) for query in queries])
    return found[:DELAYED_LISTED], max(total, len(found))


async def stock(client: ShopifyClient, skus: Iterable[str]) -> list[SkuStock]:
    """Available stock (over all locations, and over the variants that share a SKU) of each
    SKU that Shopify knows."""
    wanted = sorted(set(skus))
    by_sku: dict[str, SkuStock] = {}
    for start in range(0, len(wanted), STOCK_BATCH):
        batch = wanted[start : start + STOCK_BATCH]
        terms = " OR ".join(f"sku:{quoted(sku)}" for sku in batch)
        async for node in client.nodes(STOCK, "productVariants", {"query": terms}):
            if node.get("sku") not in batch:
                continue
            found = _stock(node)
            earlier = by_sku.get(found.sku)
            if earlier is not None:  # several variants share the SKU: one stock, summed
                found = replace(
                    earlier,
                    available=earlier.available + found.available,
                    reorder_point=earlier.reorder_point or found.reorder_point,
                )
            by_sku[found.sku] = found
    return list(by_sku.values())


async def _bulk_file(
    client: ShopifyClient,
    query: str,
    sleep: Callable[[float], Awaitable[None]],
    max_polls: int,
) -> str | None:
    """The URL of a completed bulk read's result file (None: no result)."""
    document = BULK_ORDERS.replace("QUERY", query.replace('"', '\\"'))
    for _ in range(2):
        started = (await client.query(RUN_BULK, {"query": document}))["bulkOperationRunQuery"]
        errors = started.get("userErrors") or []
        if not errors:
            return await _await_bulk(client, started["bulkOperation"]["id"], sleep, max_polls)
        message = "; ".join(str(e.get("message")) for e in errors)
        running = RUNNING_BULK.search(message)
        if running is None:
            if "limit" in message.lower() or "in progress" in message.lower():
                raise ShopifyUnavailable(f"bulk operation refused for now: {message}")
            raise ShopifyRejected(f"bulk operation refused: {message}")
        # Another run's read is under way (an older snapshot: its orders stop when it began).
        # Let it finish, then take our own.
        await _await_bulk(client, running.group(0), sleep, max_polls, tolerate_failure=True)
    raise ShopifyUnavailable("bulk operation refused twice: another read keeps running")


async def _await_bulk(
    client: ShopifyClient,
    operation_id: str,
    sleep: Callable[[float], Awaitable[None]],
    max_polls: int,
    *,
    tolerate_failure: bool = False,
) -> str | None:
    """The URL of the operation's result file once it completed (None: no result)."""
    for _ in range(max_polls):
        operation = (await client.query(POLL_BULK, {"id": operation_id})).get("node") or {}
        status = operation.get("status")
        if status == "COMPLETED":
            return operation.get("url") or None
        if status in ("FAILED", "CANCELED", "EXPIRED"):
            if tolerate_failure:
                return None
            reason = operation.get("errorCode") or "no reason given"
            raise ShopifyUnavailable(f"bulk operation {status.lower()}: {reason}")
        await sleep(BULK_POLL_SECONDS)
    # Cancel it, so it does not hold one of the shop's bulk operation slots for days.
    await client.query(CANCEL_BULK, {"id": operation_id})
    raise ShopifyUnavailable("bulk operation still running after the last poll; cancelled")


async def orders_in_file(lines: AsyncIterator[str]) -> AsyncIterator[ShopOrder]:
    """The orders of a grouped bulk JSONL file, one at a time (`order_batches_in_file`)."""
    async for batch in order_batches_in_file(lines):
        for order in batch:
            yield order


async def order_batches_in_file(lines: AsyncIterator[str]) -> AsyncIterator[list[ShopOrder]]:
    """The orders of a grouped bulk JSONL file, each once its last line item is read, handed
    on `FILE_BATCH` at a time: an order's line, then a line for each of its line items, naming
    the order in ``__parentId``. A line that is not JSON (a file cut short), or a line item
    that does not follow its order, ends the read with `ShopifyUnavailable`: the batches
    before it were yielded, so whoever reads must drop what it counted of them."""
    order: dict[str, Any] | None = None
    order_id: str | None = None
    items: list[tuple[str, int]] = []
    made: list[ShopOrder] = []
    number = order_line = 0
    loads, scan = json.loads, _SCAN
    async for line in lines:
        number += 1
        try:
            # json.loads's own C scanner, without its two Python layers: a third of the
            # parse's time. A line it does not read whole (blank, whitespace around it, more
            # after it, not JSON) is json.loads's to read or to refuse, as it would.
            try:
                row, end = scan(line, 0)
            except StopIteration:
                row, end = loads(line), len(line)
            if end != len(line):
                row = loads(line)
            parent = row.get("__parentId")
        except (ValueError, AttributeError) as error:
            if not line or line.isspace():  # checked only here: most lines are not blank
                continue
            raise ShopifyUnavailable(
                f"bulk result file, line {number}: not a JSON object (cut short?): {line[:80]!r}"
            ) from error
        if parent is None:
            if order is not None:
                try:  # inline: a call an order costs
                    made.append(_order(order, items))
                except _NOT_AN_ORDER as error:
                    raise _not_an_order(order_line, error) from error
                if len(made) == FILE_BATCH:
                    yield made
                    made = []
            order, order_id, items, order_line = row, row.get("id"), [], number
        elif parent != order_id or order_id is None:
            raise ShopifyUnavailable(
                f"bulk result file, line {number}: a line item of {parent} does not follow "
                "its order (the file is not grouped)"
            )
        else:
            sku = row.get("sku")
            if sku:
                items.append((sku, int(row.get("quantity") or 0)))
    if order is not None:
        try:
            made.append(_order(order, items))
        except _NOT_AN_ORDER as error:
            raise _not_an_order(order_line, error) from error
    if made:
        yield made


_SCAN = make_scanner(json.JSONDecoder())  # json.loads's: the same objects, the same errors

_NOT_AN_ORDER = (KeyError, ValueError, TypeError, AttributeError)


def _not_an_order(line: int, error: Exception) -> ShopifyUnavailable:
    return ShopifyUnavailable(
        f"bulk result file, line {line}: not an order as asked for: {error!r}"
    )


def _order(node: dict[str, Any], items: list[tuple[str, int]] | None = None) -> ShopOrder:
    if items is None:
        edges = (node.get("lineItems") or {}).get("edges") or []
        items = [
            (e["node"]["sku"], int(e["node"].get("quantity") or 0))
            for e in edges
            if e.get("node", {}).get("sku")
        ]
    given = node.get("refunds")
    refunds = (
        tuple(
            ShopRefund(parse_time(refund["createdAt"]), _amount(refund.get("totalRefundedSet")))
            for refund in given
            if refund.get("createdAt")  # nullable: a refund that names no time counts on no day
        )
        if given  # most orders have none
        else ()
    )
    created = _fromisoformat(node["createdAt"])
    if created.tzinfo is not UTC:
        created = created.astimezone(UTC)
    try:  # the usual shape; `_amount` reads any other as Shopify may write it
        total = float(node["totalPriceSet"]["shopMoney"]["amount"])
    except (KeyError, TypeError, ValueError):
        total = _amount(node.get("totalPriceSet"))
    # From a tuple, as `_make` does: a run makes one for each order of its window, and keywords
    # doubled the cost of making it, calling the class took twice `_make`'s time.
    return _make_order(
        (
            node["id"],  # id
            node.get("name") or node["id"],  # name
            created,  # created_at (`parse_time`, inline)
            total,
            node.get("displayFinancialStatus") or "",  # financial
            node.get("displayFulfillmentStatus") or "",  # fulfillment
            node.get("email"),  # email
            node.get("cancelledAt") is not None,  # cancelled
            tuple(items),  # items
            refunds,
        )
    )


_make_order = ShopOrder._make
_fromisoformat = datetime.fromisoformat


def _amount(money_bag: dict[str, Any] | None) -> float:
    return float(((money_bag or {}).get("shopMoney") or {}).get("amount") or 0)


def _stock(node: dict[str, Any]) -> SkuStock:
    levels = ((node.get("inventoryItem") or {}).get("inventoryLevels") or {}).get("edges") or []
    available = sum(
        q.get("quantity") or 0
        for level in levels
        for q in (level.get("node") or {}).get("quantities") or []
        if q.get("name") == "available"
    )
    point = (node.get("metafield") or {}).get("value")
    try:
        reorder_point = int(float(point)) if point is not None else None
    except ValueError:
        reorder_point = None
    return SkuStock(
        sku=node["sku"],
        title=node.get("displayName") or node["sku"],
        available=int(available),
        variant_id=node["id"],
        product_id=(node.get("product") or {}).get("id") or "",
        reorder_point=reorder_point,
    )


def parse_time(value: str) -> datetime:
    """A time as the Admin API writes it (``2026-11-20T15:30:00Z``), in UTC."""
    when = datetime.fromisoformat(value)  # Python 3.11 reads the "Z"
    return when if when.tzinfo is UTC else when.astimezone(UTC)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
