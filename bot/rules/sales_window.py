"""The window of orders one Sales Pulse run reads, folded one order at a time into what the
triggers and the tile need of it: each day's sales in the same hours, the refunds by day,
the units sold in the past week, revenue by hour, and the few orders an alert or the tile
lists. No order is kept but those few, so a window of a million orders takes the memory of
a few hundred (docs/benchmarks.md, 6)."""

from __future__ import annotations

from bisect import bisect_right, insort
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain import ShopOrder
from bot.rules.sales_days import BASELINE_DAYS, NOT_SALES, Day, day_start

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
    sold_in_week: dict[str, int] = field(default_factory=dict)  # the past 7 × 24 h, in units
    revenue_today_by_hour: list[float] = field(default_factory=lambda: [0.0] * HOURS)
    revenue_past_by_hour: list[float] = field(default_factory=lambda: [0.0] * HOURS)
    young_waiting: Firsts = field(default_factory=Firsts)  # oldest first

    def __post_init__(self) -> None:
        local_now = self.now.astimezone(self.timezone)
        self._today, self._clock = local_now.date(), local_now.time()
        # Compared with the orders' times, in UTC: comparing two zones' times converts both.
        self._now = self.now.astimezone(UTC)
        self._cutoff = self.delay_cutoff.astimezone(UTC)
        self._week_start = self._now - timedelta(days=BASELINE_DAYS)
        # Each day's midnight, oldest first, and for a day without a change of UTC offset the
        # end of its same hours: an order's day and hour are then found without converting its
        # time (a day that changes offset converts each of its orders).
        self._starts: list[datetime] = []
        self._same_hours_ends: list[datetime | None] = []
        for back in range(BASELINE_DAYS, -1, -1):
            start = day_start(self.now, self.timezone, back)
            end = day_start(self.now, self.timezone, back - 1)
            steady = start.utcoffset() == end.utcoffset()
            same = datetime.combine(start.date(), self._clock, self.timezone)
            self._starts.append(start.astimezone(UTC))
            self._same_hours_ends.append(same.astimezone(UTC) if steady else None)

    def add(self, order: ShopOrder) -> None:
        """Count ``order`` in; it is kept only if it is among the few listed."""
        self.orders += 1
        created = order.created_at
        if not order.cancelled and order.financial not in NOT_SALES:  # a sale
            if created < self._now:
                self._add_sale(order, created)
            elif created >= self._week_start:
                _count(order.items, self.sold_in_week)
        if order.refunds:
            self._add_refunds(order)
        if self._cutoff <= created < self._now and waiting(order):
            self.young_waiting.offer((created, order.id), order)

    def _add_sale(self, order: ShopOrder, created: datetime) -> None:
        # The fold's inner loop (a million times in a large shop): the units are counted
        # inline, a call each would be a third of its time.
        items = order.items
        if created >= self._week_start:
            week = self.sold_in_week
            for sku, quantity in items:
                if sku:
                    week[sku] = week.get(sku, 0) + quantity
        index = bisect_right(self._starts, created) - 1
        if index < 0:
            return
        back = BASELINE_DAYS - index
        same_hours_end = self._same_hours_ends[index]
        if same_hours_end is None:  # the day its clocks change: convert
            local = created.astimezone(self.timezone)
            in_same_hours, hour = local.time() < self._clock, local.hour
        else:
            in_same_hours = created < same_hours_end
            hour = (created - self._starts[index]).seconds // 3600
        day = self.days[back]
        total = order.total
        all_units = day.all_units
        if in_same_hours:
            day.revenue += total
            day.orders += 1
            units = day.units
            for sku, quantity in items:
                if sku:
                    units[sku] = units.get(sku, 0) + quantity
                    all_units[sku] = all_units.get(sku, 0) + quantity
        else:
            for sku, quantity in items:
                if sku:
                    all_units[sku] = all_units.get(sku, 0) + quantity
        (self.revenue_today_by_hour if back == 0 else self.revenue_past_by_hour)[hour] += total

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


def _count(items: tuple[tuple[str, int], ...], units: dict[str, int]) -> None:
    for sku, quantity in items:
        if sku:
            units[sku] = units.get(sku, 0) + quantity


def fold(
    orders: Iterable[ShopOrder], now: datetime, timezone: ZoneInfo, delay_cutoff: datetime
) -> SalesWindow:
    """The window of ``orders``, read all at once."""
    window = SalesWindow(now, timezone, delay_cutoff)
    for order in orders:
        window.add(order)
    return window
