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
        self.add_all((order,))

    def add_all(self, orders: Iterable[ShopOrder]) -> None:
        """Count each of ``orders`` in, as `add` does. The fold's inner loop (a million times
        in a large shop), so a batch at a time: what it reads of the window is looked up once
        a batch, each order is unpacked once rather than read field by field, and a sale is
        counted here, units inline, where a call each would be a good part of its time."""
        now, week_start, cutoff = self._now, self._week_start, self._cutoff
        week, days, clock = self.sold_in_week, self.days, self._clock
        starts, same_hours_ends = self._starts, self._same_hours_ends
        today_by_hour, past_by_hour = self.revenue_today_by_hour, self.revenue_past_by_hour
        read = 0
        for order in orders:
            read += 1
            _, _, created, total, financial, _, _, cancelled, items, refunds = order
            if not cancelled and financial not in NOT_SALES:  # a sale
                if created >= week_start:
                    for sku, quantity in items:
                        if sku:
                            week[sku] = week.get(sku, 0) + quantity
                if created < now and (index := bisect_right(starts, created) - 1) >= 0:
                    back = BASELINE_DAYS - index
                    same_hours_end = same_hours_ends[index]
                    if same_hours_end is None:  # the day its clocks change: convert
                        local = created.astimezone(self.timezone)
                        in_same_hours, hour = local.time() < clock, local.hour
                    else:
                        in_same_hours = created < same_hours_end
                        hour = (created - starts[index]).seconds // 3600
                    day = days[back]
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
                    (today_by_hour if back == 0 else past_by_hour)[hour] += total
            if refunds:
                self._add_refunds(order)
            if cutoff <= created < now and waiting(order):
                self.young_waiting.offer((created, order.id), order)
        self.orders += read

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
    window.add_all(orders)
    return window
