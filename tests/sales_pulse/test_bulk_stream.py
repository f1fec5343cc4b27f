"""A bulk operation's JSONL file, read as a stream: each order with the line items that follow
it (``__parentId``) is counted into the window as it is read, and comes to what the triggers
and the tile count from the same orders held in a list. A file cut short, a line that is not
JSON, or a line item away from its order is an error that names the line; an empty file is
an empty window."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain import ShopRefund
from bot.integrations.shopify import ShopifyUnavailable
from bot.integrations.shopify_reads import (
    FILE_BATCH,
    order_batches_in_file,
    orders_in_file,
    parse_time,
)
from bot.rules import pulse as tile
from bot.rules.sales import TRIGGERS, SalesRead
from bot.rules.sales_window import SalesWindow, fold
from tests.sales_pulse.test_rules_sales import NEW_YORK, NOW, RULES, SHOP, order

FILE = Path(__file__).parents[1] / "fixtures" / "shopify" / "bulk_orders_grouped.jsonl"
CUTOFF = NOW - timedelta(hours=RULES.fulfillment_hours)


def at(text: str):
    return parse_time(text)


# The fixture's orders as the rules take them: what the file says, parents with their children.
IN_THE_FILE = [
    order(
        1,
        at("2026-11-24T12:00:00Z"),
        80.0,
        email="old@example.com",
        financial="PARTIALLY_REFUNDED",
        items=(("SKU-A", 1),),
        refunds=(ShopRefund(at("2026-12-03T15:00:00Z"), 30.0),),
    ),
    order(
        2,
        at("2026-12-02T14:00:00Z"),
        40.0,
        email="b@example.com",
        items=(("SKU-A", 2), ("SKU-B", 1)),
    ),
    order(3, at("2026-12-02T23:30:00Z"), 25.5, email="c@example.com", items=(("SKU-B", 4),)),
    order(
        4,
        at("2026-12-03T06:15:00Z"),
        99.0,
        email="d@example.com",
        financial="VOIDED",
        fulfillment="UNFULFILLED",
        cancelled=True,
        items=(("SKU-C", 9),),
    ),
    order(
        5,
        at("2026-12-03T14:10:00Z"),
        60.0,
        email="e@example.com",
        fulfillment="PARTIALLY_FULFILLED",
        items=(("SKU-A", 1), ("SKU-C", 3)),
        refunds=(
            ShopRefund(at("2026-12-03T16:00:00Z"), 5.0),
            ShopRefund(at("2026-12-03T21:00:00Z"), 7.0),
        ),
    ),
    order(6, at("2026-12-03T19:45:00Z"), 12.25, fulfillment="UNFULFILLED", items=()),
    order(
        7,
        at("2026-12-03T20:30:00Z"),
        500.0,
        email="late@example.com",
        fulfillment="UNFULFILLED",
        items=(("SKU-A", 5),),
    ),
]


async def lines_of(lines: Iterable[str]) -> AsyncIterator[str]:
    for line in lines:
        yield line


async def streamed(lines: Iterable[str]) -> SalesWindow:
    window = SalesWindow(NOW, NEW_YORK, CUTOFF)
    async for read in orders_in_file(lines_of(lines)):
        window.add(read)
    return window


def fixture_lines() -> list[str]:
    return FILE.read_text().splitlines()


async def test_each_order_comes_with_the_line_items_that_follow_it():
    read = [o async for o in orders_in_file(lines_of(fixture_lines()))]
    assert read == IN_THE_FILE


async def test_lines_with_whitespace_around_them_read_as_json_reads_them():
    # A JSON line may carry spaces or a tab around it (a writer's padding, a CRLF file's \r).
    padded = [
        f" \t{line}" if n % 3 == 0 else f"{line} \r" if n % 3 == 1 else line
        for n, line in enumerate(fixture_lines())
    ]
    read = [o async for o in orders_in_file(lines_of(padded))]
    assert read == IN_THE_FILE


async def test_the_streamed_window_counts_what_the_rules_count_from_a_list():
    window = await streamed(fixture_lines())

    # By hand, 15:00 in New York: orders 2 and 3 were yesterday (3 after 15:00), 5 and 6
    # today; 1 is older but refunded today; 4 was cancelled; 7 was placed after the reading.
    assert window.orders == 7
    today, yesterday = window.days[0], window.days[1]
    assert (today.revenue, today.orders) == (72.25, 2)
    assert today.units == today.all_units == Counter({"SKU-A": 1, "SKU-C": 3})
    assert (yesterday.revenue, yesterday.orders) == (40.0, 1)
    assert yesterday.units == Counter({"SKU-A": 2, "SKU-B": 1})
    assert yesterday.all_units == Counter({"SKU-A": 2, "SKU-B": 5})
    assert window.refunded == [35.0, 0, 0, 0, 0, 0, 0, 0]  # the 21:00 UTC one is after now
    assert [(o.name, amount) for _, o, amount in window.refunded_today.kept] == [
        ("#1", 30.0),
        ("#5", 5.0),
    ]
    assert window.sold_in_week == Counter({"SKU-A": 8, "SKU-B": 5, "SKU-C": 3})
    assert [o.name for _, o, _ in window.young_waiting.kept] == ["#5", "#6"]

    # And the same as the window of the same orders held in a list: every trigger and the tile.
    held = fold(IN_THE_FILE, NOW, NEW_YORK, CUTOFF)
    assert window == held
    from_file, from_list = SalesRead(NOW, SHOP, RULES, window), SalesRead(NOW, SHOP, RULES, held)
    for spec in TRIGGERS:
        assert spec.evaluate(from_file) == spec.evaluate(from_list)
    snapshot = tile.snapshot(from_file)
    assert snapshot == tile.snapshot(from_list)
    assert snapshot.revenue == 72.25 and snapshot.orders == 2
    assert snapshot.today_by_hour[9] == 60.0 and snapshot.today_by_hour[14] == 12.25
    assert len(snapshot.today_by_hour) == 16  # hours 0 to 15, the one under way included
    assert sum(snapshot.today_by_hour) == 72.25 and snapshot.usual_by_hour[18] == round(25.5 / 7, 2)
    assert [o.name for o in snapshot.unfulfilled] == ["#5", "#6"]


def many_orders(count: int) -> list[str]:
    """A file of ``count`` orders, the fixture's over and over with ids of their own."""
    lines, template = [], [line for line in fixture_lines() if line.strip()]
    number = 0
    while number < count:
        for line in template:
            row = json.loads(line)
            if "__parentId" in row:
                row["__parentId"] = f"gid://shopify/Order/{number}"
            else:
                number += 1
                if number > count:
                    break
                row["id"], row["name"] = f"gid://shopify/Order/{number}", f"#{number}"
            lines.append(json.dumps(row))
    return lines


async def test_a_file_of_many_batches_counts_each_order_once_as_a_list_would():
    """The bulk read hands its orders on a batch at a time: over batch boundaries (and a last
    batch part full) every order comes once, in the file's order, and the window counted a
    batch at a time is the one counted an order at a time."""
    lines = many_orders(2 * FILE_BATCH + 7)
    batches = [batch async for batch in order_batches_in_file(lines_of(lines))]
    assert [len(batch) for batch in batches] == [FILE_BATCH, FILE_BATCH, 7]
    read = [o for batch in batches for o in batch]
    assert [o.name for o in read] == [f"#{n}" for n in range(1, 2 * FILE_BATCH + 8)]
    assert read == [o async for o in orders_in_file(lines_of(lines))]

    one_by_one = SalesWindow(NOW, NEW_YORK, CUTOFF)
    for o in read:
        one_by_one.add(o)
    batched = SalesWindow(NOW, NEW_YORK, CUTOFF)
    for batch in batches:
        batched.add_all(batch)
    assert batched == one_by_one
    assert batched.orders == 2 * FILE_BATCH + 7
    # Today's two of each copy of the fixture (#5, #6): 144 copies, the last one without #7.
    assert batched.days[0].orders == 2 * 144


@pytest.mark.parametrize(
    ("money", "total"),
    [
        ({"shopMoney": {"amount": "12.50"}}, 12.5),
        ({"shopMoney": {"amount": None}}, 0.0),
        ({"shopMoney": {"amount": ""}}, 0.0),
        ({"shopMoney": None}, 0.0),
        ({}, 0.0),
        (None, 0.0),
    ],
)
async def test_an_orders_total_is_read_as_shopify_may_write_it(money, total):
    row = json.loads(fixture_lines()[0])
    row["totalPriceSet"] = money
    [read] = [o async for o in orders_in_file(lines_of([json.dumps(row)]))]
    assert read.total == total


async def test_a_total_that_is_not_money_is_an_error_that_names_its_line():
    row = json.loads(fixture_lines()[0])
    row["totalPriceSet"] = {"shopMoney": {"amount": "twelve"}}
    with pytest.raises(ShopifyUnavailable, match="line 1: not an order"):
        await streamed([json.dumps(row)])


async def test_only_the_listed_orders_are_kept_however_many_are_read():
    many = [
        order(n, NOW - timedelta(hours=1, minutes=n), fulfillment="UNFULFILLED")
        for n in range(1, 500)
    ]
    window = fold(many, NOW, NEW_YORK, CUTOFF)
    assert window.young_waiting.total == 499
    assert [o.name for _, o, _ in window.young_waiting.kept] == [
        f"#{n}" for n in range(499, 489, -1)
    ]


async def test_an_empty_file_is_an_empty_window():
    window = await streamed([])
    assert window.orders == 0 and window.sold_in_week == Counter()
    assert window == fold([], NOW, NEW_YORK, CUTOFF)
    snapshot = tile.snapshot(SalesRead(NOW, SHOP, RULES, window))
    assert (snapshot.revenue, snapshot.orders, snapshot.unfulfilled_total) == (0, 0, 0)


def cut_short(lines: list[str]) -> list[str]:
    text = "\n".join(lines)
    return text[: text.index('"refunds"', 2000)].splitlines()


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (cut_short, r"line \d+: not a JSON object \(cut short\?\)"),
        (lambda lines: [*lines[:3], "<html>502 Bad Gateway</html>", *lines[3:]], "line 4: not a"),
        (lambda lines: [*lines[:2], lines[2] + " {}", *lines[3:]], "line 3: not a JSON"),
        (lambda lines: [*lines[:4], "\ufeff" + lines[4], *lines[5:]], "line 5: not a JSON"),
        (lambda lines: [lines[1], *lines], "line 1: a line item of gid://shopify/Order/1 does not"),
        (lambda lines: [lines[0], lines[2], lines[1], *lines[3:]], "line 3: a line item of "),
        (
            lambda lines: [lines[0].replace('"createdAt"', '"created"'), *lines[1:]],
            "line 1: not an",
        ),
    ],
    ids=[
        "cut short",
        "not json",
        "more after it",
        "byte order mark",
        "item before its order",
        "ungrouped",
        "not an order",
    ],
)
async def test_a_broken_file_names_its_line_and_ends_the_read(edit, says):
    with pytest.raises(ShopifyUnavailable, match=says):
        await streamed(edit(fixture_lines()))


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 11, 3, 6, 30, tzinfo=UTC),  # 01:30 in New York, 2 days after fall back
        datetime(2026, 11, 1, 6, 30, tzinfo=UTC),  # 01:30 the second time, on the day itself
        datetime(2026, 3, 10, 7, 15, tzinfo=UTC),  # 03:15 two days after spring forward
        datetime(2026, 3, 8, 6, 45, tzinfo=UTC),  # 01:45, on the day itself, before it
    ],
)
def test_days_and_hours_are_the_shops_wall_clock_across_a_change_of_offset(now):
    """Each order's day, hour and "same hours" as its time in the shop's zone says, whether
    or not the day changes its UTC offset (every 7 minutes, over the window)."""
    orders = [
        order(n, now - timedelta(minutes=7 * n), 10.0 + n % 13, items=((f"SKU-{n % 3}", 1),))
        for n in range(1, 8 * 24 * 60 // 7)
    ]
    window = fold(orders, now, NEW_YORK, now - timedelta(hours=24))

    local_now = now.astimezone(NEW_YORK)
    revenue, count = [0.0] * 8, [0] * 8
    by_hour_today, by_hour_past = [0.0] * 24, [0.0] * 24
    for o in orders:
        local = o.created_at.astimezone(NEW_YORK)
        back = (local_now.date() - local.date()).days
        if not 0 <= back <= 7:
            continue
        if local.time() < local_now.time():
            revenue[back] += o.total
            count[back] += 1
        (by_hour_today if back == 0 else by_hour_past)[local.hour] += o.total
    assert [day.orders for day in window.days] == count
    assert [round(day.revenue, 2) for day in window.days] == [round(r, 2) for r in revenue]
    assert [round(r, 2) for r in window.revenue_today_by_hour] == [
        round(r, 2) for r in by_hour_today
    ]
    assert [round(r, 2) for r in window.revenue_past_by_hour] == [round(r, 2) for r in by_hour_past]
