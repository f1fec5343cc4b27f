"""The Sales Pulse tile's numbers, from what one Sales Pulse run read (`SalesRead`): today so far
against the same hours of the past days (the very numbers the revenue and order triggers
judge), today hour by hour against the usual hours, the paid orders not yet fulfilled, and
the top sellers' stock. Pure: the job builds a `PulseSnapshot` from its read, and `/occ pulse`
and the Home tab show it."""

from __future__ import annotations

from collections import Counter

from bot.domain import PulseOrder, PulseSku, PulseSnapshot
from bot.rules.sales import SalesRead, delay_cutoff
from bot.rules.sales_days import BASELINE_DAYS, same_hours
from bot.rules.sales_window import KEPT, waiting

UNFULFILLED_KEPT = KEPT  # the oldest unfulfilled orders a snapshot lists (it counts them all)


def snapshot(read: SalesRead) -> PulseSnapshot:
    same = same_hours(read.days)
    today, usual = by_hour(read)
    unfulfilled, total = awaiting_fulfillment(read)
    return PulseSnapshot(
        taken_at=read.now,
        timezone=read.shop.timezone.key,
        currency=read.shop.currency,
        revenue=same.revenue[-1],
        usual_revenue=round(same.base_revenue, 2),
        orders=int(same.orders[-1]),
        usual_orders=round(same.base_orders, 2),
        today_by_hour=today,
        usual_by_hour=usual,
        unfulfilled=unfulfilled,
        unfulfilled_total=total,
        top_skus=top_sellers(read),
    )


def change_pct(now: float, usual: float) -> float | None:
    """How far today is from the usual, in percent (-50.0: half the usual); None without a
    usual to measure against."""
    return None if usual <= 0 else (now - usual) / usual * 100


def by_hour(read: SalesRead) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Revenue in each hour of the shop's day: today's up to now (one value an hour begun),
    and the past days' average for each of the 24 hours."""
    window = read.window
    hour_now = read.now.astimezone(read.shop.timezone).hour
    return (
        tuple(round(amount, 2) for amount in window.revenue_today_by_hour[: hour_now + 1]),
        tuple(round(amount / BASELINE_DAYS, 2) for amount in window.revenue_past_by_hour),
    )


def awaiting_fulfillment(read: SalesRead) -> tuple[tuple[PulseOrder, ...], int]:
    """The oldest paid orders not yet fulfilled (oldest first), and how many there are.

    The run read those older than the fulfillment threshold on their own (``read.delayed``,
    counted in ``read.delayed_total`` when there were more); the younger ones are in its
    window of orders, which holds every order created since the window began."""
    cutoff = delay_cutoff(read.now, read.rules)
    late = [o for o in read.delayed if waiting(o) and o.created_at < cutoff]
    young = read.window.young_waiting
    late_total = len(late) if read.delayed_total is None else max(read.delayed_total, len(late))
    oldest = sorted(
        [*late, *(order for _, order, _ in young.kept)], key=lambda o: (o.created_at, o.id)
    )[:UNFULFILLED_KEPT]
    listed = tuple(
        PulseOrder(
            name=o.name,
            url=read.shop.order_url(o.id),
            created_at=o.created_at,
            total=o.total,
            partly=o.fulfillment == "PARTIALLY_FULFILLED",
        )
        for o in oldest
    )
    return listed, late_total + young.total


def top_sellers(read: SalesRead) -> tuple[PulseSku, ...]:
    """The run's top sellers (``read.top``, best first) with their stock, as the low-stock
    trigger counts them: units sold in the past days, and the stock across locations."""
    sold = Counter(read.window.sold_in_week)  # a SKU not sold reads 0
    stocks = {stock.sku: stock for stock in read.stocks}
    found = []
    for sku in read.top:
        stock = stocks.get(sku)
        found.append(
            PulseSku(
                sku=sku,
                title=stock.title if stock else sku,
                url=read.shop.variant_url(stock) if stock else read.shop.sku_url(sku),
                sold=sold[sku],
                per_day=sold[sku] / BASELINE_DAYS,
                available=stock.available if stock else None,
            )
        )
    return tuple(found)
