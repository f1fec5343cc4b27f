"""The Sales Pulse tile's numbers, from what one Sales Pulse run read (`SalesRead`): today so far
against the same hours of the past days (the very numbers the revenue and order triggers
judge), today hour by hour against the usual hours, the paid orders not yet fulfilled, and
the top sellers' stock. Pure: the job builds a `PulseSnapshot` from its read, and `/occ pulse`
and the Home tab show it."""

from __future__ import annotations

from datetime import timedelta

from bot.domain import PulseOrder, PulseSku, PulseSnapshot, ShopOrder
from bot.rules.sales import PAID, UNFULFILLED, SalesRead, delay_cutoff
from bot.rules.sales_days import BASELINE_DAYS, counts_as_sale, same_hours, units

HOURS = 24
UNFULFILLED_KEPT = 10  # the oldest unfulfilled orders a snapshot lists (it counts them all)


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
    timezone = read.shop.timezone
    local_now = read.now.astimezone(timezone)
    today = [0.0] * HOURS
    past = [0.0] * HOURS
    for order in read.orders:
        if order.created_at >= read.now or not counts_as_sale(order):
            continue
        local = order.created_at.astimezone(timezone)
        back = (local_now.date() - local.date()).days
        if back == 0:
            today[local.hour] += order.total
        elif 1 <= back <= BASELINE_DAYS:
            past[local.hour] += order.total
    return (
        tuple(round(amount, 2) for amount in today[: local_now.hour + 1]),
        tuple(round(amount / BASELINE_DAYS, 2) for amount in past),
    )


def waiting(order: ShopOrder) -> bool:
    """Paid and not (or only partly) fulfilled: what fulfillment still owes."""
    return not order.cancelled and order.financial in PAID and order.fulfillment in UNFULFILLED


def awaiting_fulfillment(read: SalesRead) -> tuple[tuple[PulseOrder, ...], int]:
    """The oldest paid orders not yet fulfilled (oldest first), and how many there are.

    The run read those older than the fulfillment threshold on their own (``read.delayed``,
    counted in ``read.delayed_total`` when there were more); the younger ones are in its
    window of orders, which holds every order created since the window began."""
    cutoff = delay_cutoff(read.now, read.rules)
    late = [o for o in read.delayed if waiting(o) and o.created_at < cutoff]
    young = [o for o in read.orders if waiting(o) and cutoff <= o.created_at < read.now]
    late_total = len(late) if read.delayed_total is None else max(read.delayed_total, len(late))
    oldest = sorted([*late, *young], key=lambda o: (o.created_at, o.id))[:UNFULFILLED_KEPT]
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
    return listed, late_total + len(young)


def top_sellers(read: SalesRead) -> tuple[PulseSku, ...]:
    """The run's top sellers (``read.top``, best first) with their stock, as the low-stock
    trigger counts them: units sold in the past days, and the stock across locations."""
    since = read.now - timedelta(days=BASELINE_DAYS)
    sold = units(o for o in read.orders if o.created_at >= since and counts_as_sale(o))
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
