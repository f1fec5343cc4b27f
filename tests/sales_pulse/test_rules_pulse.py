"""The Sales Pulse tile's numbers from what a run read, and how the tile says them: hours in the
shop's day, the unfulfilled orders counted past what was listed, no percentage without a
usual, and each source's freshness."""

from __future__ import annotations

from datetime import timedelta

from bot.blocks.pulse import change, freshness, glance_text, tile_text
from bot.domain import SourceStatus
from bot.rules.pulse import UNFULFILLED_KEPT, by_hour, snapshot
from bot.rules.sales import SalesRead
from tests.sales_pulse.test_rules_sales import NEW_YORK, NOW, RULES, SHOP, order, same_hours


def read(orders, **kw) -> SalesRead:
    return SalesRead.of_orders(NOW, SHOP, RULES, orders, **kw)


def test_hours_are_the_shops_and_today_stops_at_the_current_hour():
    midnight, _ = same_hours(NOW, NEW_YORK, 0)
    yesterday, _ = same_hours(NOW, NEW_YORK, 1)
    orders = [
        order(1, midnight + timedelta(minutes=30), 10.0),  # 00:30 today, shop time
        order(2, midnight + timedelta(hours=14, minutes=59), 20.0),
        order(3, yesterday + timedelta(hours=23), 70.0),  # 23:00 yesterday
        order(4, yesterday + timedelta(hours=23), 7.0, cancelled=True),  # not a sale
        order(5, NOW + timedelta(minutes=1), 99.0),  # after the reading
    ]
    today, usual = by_hour(read(orders))
    assert len(today) == 16 and today[0] == 10.0 and today[14] == 20.0 and sum(today) == 30.0
    assert len(usual) == 24 and usual[23] == 10.0 and sum(usual) == 10.0  # 70 over 7 days


def test_unfulfilled_orders_are_counted_beyond_those_listed_oldest_first():
    cutoff = NOW - timedelta(hours=RULES.fulfillment_hours)
    late = [
        order(n, cutoff - timedelta(hours=n), fulfillment="UNFULFILLED")
        for n in range(1, UNFULFILLED_KEPT + 3)
    ]
    young = [
        order(100, NOW - timedelta(hours=2), fulfillment="PARTIALLY_FULFILLED"),
        order(101, NOW - timedelta(hours=1), fulfillment="UNFULFILLED", financial="PENDING"),
        order(102, NOW - timedelta(hours=1), fulfillment="UNFULFILLED", cancelled=True),
    ]
    # The run listed 12 late orders of 40 in all.
    tile = snapshot(read(young, delayed=late, delayed_total=40))
    assert tile.unfulfilled_total == 41  # 40 late, 1 young (neither unpaid nor cancelled)
    assert [o.name for o in tile.unfulfilled] == [f"#{n}" for n in range(12, 2, -1)]
    assert len(tile.unfulfilled) == UNFULFILLED_KEPT


def test_no_percentage_without_a_usual_and_none_for_a_rounding_zero():
    assert change(250, 200) == "+25%" and change(100, 200) == "-50%"
    assert change(200.4, 200) == "±0%"
    assert change(50, 0) is None
    first_day = snapshot(read([order(1, NOW - timedelta(hours=1), 50.0)]))
    assert "Revenue *$50.00*, orders *1*: nothing in the same hours of the last 7 days" in (
        tile_text(first_day, NOW, alerts=[], sources=[])
    )
    assert "Revenue *$50.00* · *1* orders\n" in glance_text(first_day, NOW, open_alerts=0)


def test_a_sources_freshness_turns_red_once_stale_and_shows_a_newer_error():
    read_at = NOW - timedelta(minutes=3)
    fresh = SourceStatus("shopify", NOW - timedelta(days=1), last_ok_at=read_at)
    assert freshness("shopify", fresh, NOW, 30) == ":large_green_circle: Shopify read 3 min ago"
    failing = SourceStatus(
        "chatwoot",
        NOW - timedelta(days=1),
        last_ok_at=NOW - timedelta(minutes=45),
        last_error="HTTP 503 <b>",
        last_error_at=NOW - timedelta(minutes=1),
    )
    assert freshness("chatwoot", failing, NOW, 30) == (
        ":red_circle: *Chatwoot read 45 min ago*, stale past 30 min "
        "(last try failed 1 min ago: HTTP 503 &lt;b&gt;)"
    )
    never = SourceStatus("shopify", NOW - timedelta(hours=2), last_error="timed out",
                         last_error_at=NOW - timedelta(minutes=2))  # fmt: skip
    assert freshness("shopify", never, NOW, 30).startswith(
        ":red_circle: *Shopify never read* (tried for 2 h)"
    )
    assert freshness("shopify", None, NOW, 30) == ":white_circle: Shopify not read yet"


def test_the_home_tile_before_any_reading_says_how_to_get_one():
    assert "`/occ pulse` starts one" in glance_text(None, NOW, open_alerts=0)
