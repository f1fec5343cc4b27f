"""Sales Pulse's triggers: each fires on data that crosses it and stays quiet on data that
does not, in the shop's own day, and a quiet shop is not "down 100 %"."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain import ShopOrder, ShopRefund, SkuStock, Trigger
from bot.rules.sales import (
    Evaluation,
    SalesRead,
    SalesThresholds,
    Status,
    markedly_worse,
    spec_for,
)
from bot.rules.sales_days import Shop, top_skus

NEW_YORK = ZoneInfo("America/New_York")


def same_hours(now: datetime, timezone: ZoneInfo, days_back: int) -> tuple[datetime, datetime]:
    """From midnight to the current wall-clock time, ``days_back`` days ago (shop time)."""
    local = now.astimezone(timezone)
    day = local.date() - timedelta(days=days_back)
    return datetime.combine(day, time(0), timezone), datetime.combine(day, local.time(), timezone)


SHOP = Shop(NEW_YORK, "https://occ.myshopify.com/admin")
# 15:00 in New York (20:00 UTC): "today" began at 05:00 UTC.
NOW = datetime(2026, 12, 3, 20, 0, tzinfo=UTC)
RULES = SalesThresholds()


def order(n: int, at: datetime, total: float = 50.0, **kw: object) -> ShopOrder:
    return ShopOrder(
        id=f"gid://shopify/Order/{n}",
        name=f"#{n}",
        created_at=at,
        total=total,
        financial=str(kw.get("financial", "PAID")),
        fulfillment=str(kw.get("fulfillment", "FULFILLED")),
        email=kw.get("email"),  # type: ignore[arg-type]
        cancelled=bool(kw.get("cancelled", False)),
        items=kw.get("items", (("SKU-1", 1),)),  # type: ignore[arg-type]
        refunds=kw.get("refunds", ()),  # type: ignore[arg-type]
    )


def week(per_day: int, today: int, total: float = 50.0, today_total: float | None = None):
    """``per_day`` orders in the same hours on each past day, ``today`` orders today so far."""
    orders, n = [], 0
    for back in range(1, 8):
        start, _ = same_hours(NOW, NEW_YORK, back)
        for i in range(per_day):
            n += 1
            orders.append(order(n, start + timedelta(hours=1, minutes=i), total))
    start, _ = same_hours(NOW, NEW_YORK, 0)
    for i in range(today):
        n += 1
        orders.append(order(n, start + timedelta(hours=1, minutes=i), today_total or total))
    return orders


def evaluate(
    trigger: Trigger,
    orders: Sequence[ShopOrder] = (),
    *,
    now: datetime = NOW,
    shop: Shop = SHOP,
    **read: Any,
) -> list[Evaluation]:
    """One trigger's evaluations of what a run read (``read``: delayed orders, stocks)."""
    return spec_for(trigger).evaluate(SalesRead.of_orders(now, shop, RULES, orders, **read))


def evaluate_today(orders: list[ShopOrder], now: datetime = NOW, shop: Shop = SHOP):
    """Revenue drop and order spike: today so far against the same hours of past days."""
    return [
        *evaluate(Trigger.REVENUE_DROP, orders, now=now, shop=shop),
        *evaluate(Trigger.ORDER_SPIKE, orders, now=now, shop=shop),
    ]


def evaluate_delays(delayed: list[ShopOrder], total: int | None) -> Evaluation:
    [evaluation] = evaluate(Trigger.FULFILLMENT_DELAY, delayed=delayed, delayed_total=total)
    return evaluation


def statuses(orders: list[ShopOrder]) -> dict[str, Status]:
    return {e.condition: e.status for e in evaluate_today(orders)}


def test_revenue_drop_fires_beyond_15_percent_and_not_at_it():
    assert statuses(week(20, 20, today_total=42.0))["revenue_drop"] == Status.CROSSED  # -16%
    assert statuses(week(20, 20, today_total=42.5))["revenue_drop"] == Status.HOLD  # -15%
    assert statuses(week(20, 20))["revenue_drop"] == Status.CLEAR
    finding = next(e.finding for e in evaluate_today(week(20, 10)) if e.finding)
    assert finding.trigger == Trigger.REVENUE_DROP
    assert (finding.value, finding.baseline, finding.severity) == (500.0, 1000.0, 50.0)
    assert finding.trend == (1000.0,) * 7 + (500.0,)
    [sku] = finding.affected  # the SKU that sold less, linked to Shopify Admin's search
    assert sku.label == "SKU-1" and sku.url.endswith("/admin/products?query=sku%3ASKU-1")


def test_order_spike_fires_beyond_25_percent():
    assert statuses(week(20, 26))["order_spike"] == Status.CROSSED  # +30%
    assert statuses(week(20, 25))["order_spike"] == Status.HOLD  # +25%: not more than
    assert statuses(week(20, 21))["order_spike"] == Status.CLEAR


def test_a_quiet_shop_is_not_down_100_percent():
    """Below the minimum baseline (10 orders by this hour) nothing is judged."""
    assert statuses(week(5, 0)) == {"revenue_drop": Status.HOLD, "order_spike": Status.HOLD}
    assert statuses([]) == {"revenue_drop": Status.HOLD, "order_spike": Status.HOLD}


def test_today_is_the_shops_day_not_utc():
    """Orders at 03:00 UTC belong to yesterday in New York: they are not today's revenue."""
    orders = week(20, 0)
    yesterday_evening = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)  # 22:00 on Dec 2 in New York
    orders += [order(900 + i, yesterday_evening, 50.0) for i in range(20)]
    assert statuses(orders)["revenue_drop"] == Status.CROSSED
    # The same hour in UTC terms would have counted them; in Tokyo they are "today" too.
    tokyo = Shop(ZoneInfo("Asia/Tokyo"), SHOP.admin_url)
    now_tokyo = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)  # 23:00 Dec 3 in Tokyo
    in_tokyo_today = [order(i, datetime(2026, 12, 3, 3, 0, tzinfo=UTC)) for i in range(30)]
    verdicts = {e.condition: e.status for e in evaluate_today(in_tokyo_today, now_tokyo, tokyo)}
    assert verdicts["revenue_drop"] == Status.HOLD  # no baseline days: too quiet to judge


def test_cancelled_and_voided_orders_are_not_sales():
    orders = week(20, 20)
    today = [o for o in orders if o.created_at >= same_hours(NOW, NEW_YORK, 0)[0]]
    for o in today[:10]:
        orders.remove(o)
        orders.append(order(int(o.name[1:]), o.created_at, cancelled=True))
    assert statuses(orders)["revenue_drop"] == Status.CROSSED


def test_fulfillment_delay_counts_paid_orders_unfulfilled_past_24_hours():
    late = order(1, NOW - timedelta(hours=25), fulfillment="UNFULFILLED", email="a@example.com")
    partial = order(2, NOW - timedelta(hours=30), fulfillment="PARTIALLY_FULFILLED")
    fresh = order(3, NOW - timedelta(hours=23), fulfillment="UNFULFILLED")
    unpaid = order(4, NOW - timedelta(hours=48), fulfillment="UNFULFILLED", financial="PENDING")
    evaluation = evaluate_delays([late, partial, fresh, unpaid], None)
    assert evaluation.status == Status.CROSSED
    assert evaluation.finding is not None
    assert [a.label for a in evaluation.finding.affected] == ["#2", "#1"]  # oldest first
    assert evaluation.finding.affected[1].url == "https://occ.myshopify.com/admin/orders/1"
    assert evaluation.finding.affected[1].email == "a@example.com"
    assert evaluate_delays([fresh, unpaid], None).status == Status.CLEAR
    # More than could be listed: the count says how many there are in all.
    many = evaluate_delays([late], 400)
    assert many.finding is not None and many.finding.value == 400


def test_low_stock_by_days_of_cover_and_reorder_point():
    # SKU-1 sells 2 a day: 10 left is 5 days of cover (< 7); SKU-2 sells 1 a day, 30 left.
    orders = [
        order(i, NOW - timedelta(days=day, hours=1), items=(("SKU-1", 2), ("SKU-2", 1)))
        for i, day in enumerate(range(7))
    ]
    stocks = [
        SkuStock(
            "SKU-1", "Hoodie", 10, "gid://shopify/ProductVariant/11", "gid://shopify/Product/1"
        ),
        SkuStock("SKU-2", "Cap", 30, "gid://shopify/ProductVariant/12", "gid://shopify/Product/2"),
        SkuStock(
            "SKU-3", "Mug", 4, "gid://shopify/ProductVariant/13", "gid://shopify/Product/3", 5
        ),
    ]
    verdicts = {e.condition: e for e in evaluate(Trigger.LOW_STOCK, orders, stocks=stocks)}
    assert verdicts["low_stock:SKU-1"].status == Status.CROSSED
    assert verdicts["low_stock:SKU-2"].status == Status.CLEAR
    assert verdicts["low_stock:SKU-3"].status == Status.CROSSED  # at or below its reorder point
    finding = verdicts["low_stock:SKU-1"].finding
    assert finding is not None and "5.0 days of cover" in finding.affected[0].detail
    assert finding.affected[0].url.endswith("/products/1/variants/11")
    window = SalesRead.of_orders(NOW, SHOP, RULES, orders).window
    assert top_skus(window.sold_in_week, 1) == ["SKU-1"]


def test_worse_means_half_as_bad_again_or_the_worst():
    findings = {e.condition: e.finding for e in evaluate_today(week(20, 16))}
    first = findings["revenue_drop"]  # -20%
    assert first is not None
    slightly = next(e.finding for e in evaluate_today(week(20, 15)) if e.finding)
    much = next(e.finding for e in evaluate_today(week(20, 10)) if e.finding)
    assert slightly is not None and much is not None
    assert not markedly_worse(first, slightly)
    assert markedly_worse(first, much)


def refunds_on(days: dict[int, list[float]], hour: int = 10) -> list[ShopOrder]:
    """Refunds made ``back`` days ago at ``hour`` (shop time), each on an order placed a month
    before: outside the window's sales, but refunded in it."""
    orders = []
    for back, amounts in days.items():
        start, _ = same_hours(NOW, NEW_YORK, back)
        for amount in amounts:
            at = start + timedelta(hours=hour, minutes=len(orders))
            placed = NOW - timedelta(days=30, minutes=len(orders))
            refund = (ShopRefund(at, amount),)
            orders.append(order(8000 + len(orders), placed, 100.0, refunds=refund))
    return orders


def refund_spike(orders: list[ShopOrder]):
    [evaluation] = evaluate(Trigger.REFUND_SPIKE, orders)
    return evaluation


def test_refund_spike_fires_beyond_50_percent_above_the_usual_refunds():
    usual = {back: [50.0, 50.0] for back in range(1, 8)}  # $100 by this hour, every day
    assert refund_spike(week(20, 20) + refunds_on(usual | {0: [80.0, 80.0]})).status == (
        Status.CROSSED  # $160: +60 %
    )
    assert refund_spike(week(20, 20) + refunds_on(usual | {0: [75.0, 75.0]})).status == (
        Status.HOLD  # $150: +50 %, not more than
    )
    assert refund_spike(week(20, 20) + refunds_on(usual | {0: [70.0, 70.0]})).status == (
        Status.HOLD  # +40 %: not yet back within 80 % of the threshold
    )
    assert refund_spike(week(20, 20) + refunds_on(usual | {0: [50.0, 50.0]})).status == (
        Status.CLEAR
    )
    finding = refund_spike(week(20, 20) + refunds_on(usual | {0: [100.0, 90.0, 10.0]})).finding
    assert finding is not None and finding.trigger == Trigger.REFUND_SPIKE
    assert (finding.value, finding.baseline, finding.severity) == (200.0, 100.0, 100.0)
    assert finding.trend == (100.0,) * 7 + (200.0,)
    assert finding.threshold == "more than 50% above the 7-day average"
    assert [a.label for a in finding.affected] == ["#8014", "#8015", "#8016"]  # most first
    assert (
        finding.affected[0].detail == "$100.00 refunded today, of an order of $100.00 placed 3 Nov"
    )
    assert finding.affected[0].url == "https://occ.myshopify.com/admin/orders/8014"


def test_a_refund_counts_on_its_own_day_and_hour_not_its_orders():
    """An order placed a month ago and refunded today is today's refund; a refund later in
    the day on a past day is not in the same hours, and one after now is not yet."""
    usual = {back: [50.0, 50.0] for back in range(1, 8)}
    later = refunds_on({back: [500.0] for back in range(1, 8)}, hour=20)  # after 15:00
    future = order(9999, NOW - timedelta(hours=5), refunds=(ShopRefund(NOW, 900.0),))
    evaluation = refund_spike(week(20, 20) + refunds_on(usual | {0: [160.0]}) + later + [future])
    assert evaluation.status == Status.CROSSED and evaluation.finding is not None
    assert evaluation.finding.value == 160.0 and evaluation.finding.baseline == 100.0


def test_a_shop_that_seldom_refunds_is_measured_against_one_average_order():
    """No refunds all week: one refund of an average order ($50) is not a spike, two are."""
    assert refund_spike(week(20, 20) + refunds_on({0: [50.0]})).status == Status.CLEAR
    finding = refund_spike(week(20, 20) + refunds_on({0: [50.0, 50.0]})).finding
    assert finding is not None and (finding.baseline, finding.severity) == (50.0, 100.0)
    assert finding.threshold == (
        "more than 50% above one average order ($50.00), as the 7-day average is less"
    )
    assert refund_spike(week(5, 5) + refunds_on({0: [500.0]})).status == Status.HOLD  # quiet
