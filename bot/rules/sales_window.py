"""The window of orders one Sales Pulse run reads, folded one order at a time into what the
triggers and the tile need of it: each day's sales in the same hours, the refunds by day,
the units sold in the past week, revenue by hour, and the few orders an alert or the tile
lists. No order is kept but those few, so a window of a million orders takes the memory of
a few hundred (docs/benchmarks.md, 6)."""

from __future__ import annotations

from bisect import insort
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain import ShopOrder
from bot.rules.sales_days import BASELINE_DAYS, Day, counts_as_sale

HOURS = 24
KEPT = 10  # the orders an alert or the tile lists; the others are only counted
PAID = frozenset({"PAID"})
UNFULFILLED = frozenset({"UNFULFILLED", "PARTIALLY_FULFILLED"})


@dataclass
class Firsts:
    """The `KEPT` first orders by their key, first first, and how many were offered."""

    kept: list[tuple[tuple[Any, ...], ShopOrder, float]] = field(default_factory=list)
    total: int = 0

    def offer(self, key: tuple[Any, ...], order: ShopOrder, amount: float = 0.0) -> None:
        self.total += 1
        if len(self.kept) < KEPT or key < self.kept[-1][0]:
            insort(self.kept, (key, order, amount), key=lambda kept: kept[0])
            del self.kept[KEPT:]


def waiting(order: ShopOrder) -> bool:
    """Paid and not (or only partly) fulfilled: what fulfillment still owes."""
    return not order.cancelled and order.financial in PAID and order.fulfillment in UNFULFILLED


@dataclass
class SalesWindow:
    """What a run's window of orders comes to, as of ``now`` in the shop's ``timezone``.
    ``delay_cutoff``: orders paid before it and not fulfilled are late (read on their own),
    those since are still young."""

    now: datetime
    timezone: ZoneInfo
    delay_cutoff: datetime
    orders: int = 0  # read
    days: list[Day] = field(default_factory=lambda: [Day() for _ in range(BASELINE_DAYS + 1)])
    # Money refunded in the same hours of each day, each refund on its own day; 0 is today.
    refunded: list[float] = field(default_factory=lambda: [0.0] * (BASELINE_DAYS + 1))
    refunded_today: Firsts = field(default_factory=Firsts)  # by money, most first
    sold_in_week: Counter[str] = field(default_factory=Counter)  # the past 7 × 24 h, in units
    revenue_today_by_hour: list[float] = field(default_factory=lambda: [0.0] * HOURS)
    revenue_past_by_hour: list[float] = field(default_factory=lambda: [0.0] * HOURS)
    young_waiting: Firsts = field(default_factory=Firsts)  # oldest first

    def __post_init__(self) -> None:
        local_now = self.now.astimezone(self.timezone)
        self._today, self._clock = local_now.date(), local_now.time()
        self._week_start = self.now - timedelta(days=BASELINE_DAYS)

    def add(self, order: ShopOrder) -> None:
        """Count ``order`` in; it is kept only if it is among the few listed."""
        self.orders += 1
        sale = counts_as_sale(order)
        if sale:
            if order.created_at >= self._week_start:
                for sku, quantity in order.items:
                    if sku:
                        self.sold_in_week[sku] += quantity
            if order.created_at < self.now:
                self._add_sale(order)
        if order.refunds:
            self._add_refunds(order)
        if waiting(order) and self.delay_cutoff <= order.created_at < self.now:
            self.young_waiting.offer((order.created_at, order.id), order)

    def _add_sale(self, order: ShopOrder) -> None:
        local = order.created_at.astimezone(self.timezone)
        back = (self._today - local.date()).days
        if not 0 <= back <= BASELINE_DAYS:
            return
        day = self.days[back]
        in_same_hours = local.time() < self._clock
        if in_same_hours:
            day.revenue += order.total
            day.orders += 1
        for sku, quantity in order.items:
            if sku:
                day.all_units[sku] += quantity
                if in_same_hours:
                    day.units[sku] += quantity
        by_hour = self.revenue_today_by_hour if back == 0 else self.revenue_past_by_hour
        by_hour[local.hour] += order.total

    def _add_refunds(self, order: ShopOrder) -> None:
        today = 0.0
        counted_today = False
        for refund in order.refunds:
            local = refund.created_at.astimezone(self.timezone)
            back = (self._today - local.date()).days
            if refund.created_at >= self.now or not 0 <= back <= BASELINE_DAYS:
                continue
            if local.time() < self._clock:
                self.refunded[back] += refund.amount
                if back == 0:
                    today += refund.amount
                    counted_today = True
        if counted_today:
            self.refunded_today.offer((-today, order.created_at, order.id), order, today)


def fold(
    orders: Iterable[ShopOrder], now: datetime, timezone: ZoneInfo, delay_cutoff: datetime
) -> SalesWindow:
    """The window of ``orders``, read all at once."""
    window = SalesWindow(now, timezone, delay_cutoff)
    for order in orders:
        window.add(order)
    return window
