"""Sales Pulse's decision triggers, as pure functions of what was read from Shopify.

The source documents' triggers (Sales Pulse module):

- revenue drop: revenue so far today more than 15 % below the average of the same hours on
  each of the previous 7 days ("create follow-up");
- order spike: orders so far today more than 25 % above that baseline ("notify fulfillment
  lead");
- fulfillment delay: a paid order unfulfilled for more than 24 h ("page fulfillment manager");
- low stock: a top-selling SKU below its reorder point or its days of cover ("reorder
  discussion").

"Today" is the shop's day, in the shop's time zone. A shop whose baseline is below
`SalesThresholds.min_baseline_orders` is too quiet to judge: its revenue and order triggers
hold (neither alert nor clear), so a quiet night is not "down 100 %".

Each evaluation says whether a condition is crossed (a `Finding`), clear, or in between
(`HOLD`: crossed no longer, but not back by a margin), so an alert neither flaps on the
threshold nor clears on a wobble.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from bot.domain import Affected, Finding, ShopOrder, SkuStock, Trigger

# Back within this fraction of the threshold (a 15 % drop clears below 12 %) clears the alert.
CLEAR_FRACTION = 0.8
# A condition is alerted again when it is this many times as bad as when it was alerted.
WORSE_FACTOR = {
    Trigger.REVENUE_DROP: 1.5,
    Trigger.ORDER_SPIKE: 1.5,
    Trigger.FULFILLMENT_DELAY: 2.0,
    Trigger.LOW_STOCK: 1.5,
}
WORST = 100.0  # a severity of 100: no revenue at all, a SKU out of stock
LISTED = 10  # affected orders or SKUs listed in an alert
PAID = frozenset({"PAID"})
UNFULFILLED = frozenset({"UNFULFILLED", "PARTIALLY_FULFILLED"})
NOT_SALES = frozenset({"VOIDED", "EXPIRED"})


@dataclass(frozen=True)
class SalesThresholds:
    revenue_drop_pct: float = 15.0
    order_spike_pct: float = 25.0
    fulfillment_hours: float = 24.0
    min_baseline_orders: float = 10.0  # orders in the same hours, averaged over the past days
    days_of_cover: float = 7.0
    top_skus: int = 10
    baseline_days: int = 7


class Status(StrEnum):
    CROSSED = "crossed"
    CLEAR = "clear"
    HOLD = "hold"


@dataclass(frozen=True)
class Evaluation:
    condition: str
    status: Status
    finding: Finding | None = None  # when crossed


@dataclass(frozen=True)
class Shop:
    """The shop as the triggers need it: its day, its money, its Admin links."""

    timezone: ZoneInfo
    admin_url: str  # https://store.myshopify.com/admin
    currency: str = "USD"

    def order_url(self, order_gid: str) -> str:
        return f"{self.admin_url}/orders/{_numeric(order_gid)}"

    def sku_url(self, sku: str) -> str:
        """Shopify Admin's product search for a SKU (line items name no product here)."""
        return f"{self.admin_url}/products?{urlencode({'query': f'sku:{sku}'})}"

    def variant_url(self, stock: SkuStock) -> str:
        return (
            f"{self.admin_url}/products/{_numeric(stock.product_id)}"
            f"/variants/{_numeric(stock.variant_id)}"
        )


def day_start(now: datetime, timezone: ZoneInfo, days_back: int = 0) -> datetime:
    """Midnight in the shop's time zone, ``days_back`` days before today."""
    day = now.astimezone(timezone).date() - timedelta(days=days_back)
    return datetime.combine(day, time(0), timezone)


def window_start(now: datetime, timezone: ZoneInfo, thresholds: SalesThresholds) -> datetime:
    """The oldest order the triggers need: midnight ``baseline_days`` days ago."""
    return day_start(now, timezone, thresholds.baseline_days)


def evaluate_today(
    orders: Sequence[ShopOrder], now: datetime, shop: Shop, thresholds: SalesThresholds
) -> list[Evaluation]:
    """Revenue drop and order spike: today so far against the same hours of past days."""
    days = thresholds.baseline_days
    by_day = _by_day(orders, now, shop.timezone, days)[::-1]  # oldest first, today last
    revenue = [round(day.revenue, 2) for day in by_day]
    counts = [float(day.orders) for day in by_day]
    units = [day.units for day in by_day]
    base_revenue = sum(revenue[:-1]) / days
    base_orders = sum(counts[:-1]) / days
    base_units: Counter[str] = Counter()
    for day_units in units[:-1]:
        base_units.update(day_units)
    if base_orders < thresholds.min_baseline_orders or base_revenue <= 0:
        return [
            Evaluation(t.value, Status.HOLD) for t in (Trigger.REVENUE_DROP, Trigger.ORDER_SPIKE)
        ]
    drop = (base_revenue - revenue[-1]) / base_revenue * 100
    spike = (counts[-1] - base_orders) / base_orders * 100
    label = f"the same hours on each of the past {days} days, then today"
    revenue_finding = Finding(
        trigger=Trigger.REVENUE_DROP,
        condition=Trigger.REVENUE_DROP.value,
        metric="Revenue today so far",
        value=revenue[-1],
        baseline=round(base_revenue, 2),
        threshold=f"more than {thresholds.revenue_drop_pct:g}% below the {days}-day average",
        severity=round(min(drop, WORST), 1),
        unit="money",
        trend=tuple(revenue),
        trend_label=label,
        affected=_sku_changes(shop, units[-1], base_units, days, falling=True),
        currency=shop.currency,
    )
    spike_finding = Finding(
        trigger=Trigger.ORDER_SPIKE,
        condition=Trigger.ORDER_SPIKE.value,
        metric="Orders today so far",
        value=counts[-1],
        baseline=round(base_orders, 1),
        threshold=f"more than {thresholds.order_spike_pct:g}% above the {days}-day average",
        severity=round(spike, 1),
        unit="orders",
        trend=tuple(counts),
        trend_label=label,
        affected=_sku_changes(shop, units[-1], base_units, days, falling=False),
        currency=shop.currency,
    )
    return [
        _judge(revenue_finding, drop, thresholds.revenue_drop_pct),
        _judge(spike_finding, spike, thresholds.order_spike_pct),
    ]


def evaluate_delays(
    delayed: Sequence[ShopOrder],
    total: int | None,
    now: datetime,
    shop: Shop,
    thresholds: SalesThresholds,
) -> Evaluation:
    """Paid orders unfulfilled for longer than the threshold: ``delayed`` lists the oldest
    of them as read; ``total`` counts them all when there were more than could be read
    (None: the list is all of them)."""
    cutoff = delay_cutoff(now, thresholds)
    late = sorted(
        (o for o in delayed if _is_delayed(o, cutoff)), key=lambda o: (o.created_at, o.id)
    )
    count = len(late) if total is None else max(total, len(late))
    condition = Trigger.FULFILLMENT_DELAY.value
    if count == 0:
        return Evaluation(condition, Status.CLEAR)
    affected = tuple(
        Affected(
            label=o.name,
            detail=f"{_money(o.total, shop.currency)}, paid, unfulfilled for "
            f"{_hours(now - o.created_at)}" + (f", {o.email}" if o.email else ""),
            url=shop.order_url(o.id),
            email=o.email,
        )
        for o in late
    )
    finding = Finding(
        trigger=Trigger.FULFILLMENT_DELAY,
        condition=condition,
        metric="Paid orders unfulfilled",
        value=float(count),
        baseline=None,
        threshold=f"paid and unfulfilled for more than {thresholds.fulfillment_hours:g} h",
        severity=float(count),
        unit="orders",
        affected=affected,
        affected_total=count,
        currency=shop.currency,
    )
    return Evaluation(condition, Status.CROSSED, finding)


def delay_cutoff(now: datetime, thresholds: SalesThresholds) -> datetime:
    return now - timedelta(hours=thresholds.fulfillment_hours)


def top_skus(orders: Iterable[ShopOrder], since: datetime, count: int) -> list[str]:
    """The best-selling SKUs by units since ``since``, best first (ties by SKU)."""
    sold = _units(o for o in orders if o.created_at >= since and _counts_as_sale(o))
    return [sku for sku, _ in sorted(sold.items(), key=lambda kv: (-kv[1], kv[0]))[:count]]


def evaluate_stock(
    orders: Sequence[ShopOrder],
    stocks: Sequence[SkuStock],
    now: datetime,
    shop: Shop,
    thresholds: SalesThresholds,
) -> list[Evaluation]:
    """Each SKU below its reorder point or its days of cover (at the past days' sales rate)."""
    days = thresholds.baseline_days
    since = now - timedelta(days=days)
    sold = _units(o for o in orders if o.created_at >= since and _counts_as_sale(o))
    by_day = _by_day(orders, now, shop.timezone, days)[::-1]
    evaluations = []
    for stock in stocks:
        per_day = sold[stock.sku] / days
        cover = stock.available / per_day if per_day > 0 else math.inf
        below_point = stock.reorder_point is not None and stock.available <= stock.reorder_point
        condition = f"{Trigger.LOW_STOCK.value}:{stock.sku}"
        if not below_point and cover >= thresholds.days_of_cover:
            settled = cover >= thresholds.days_of_cover / CLEAR_FRACTION and not below_point
            evaluations.append(Evaluation(condition, Status.CLEAR if settled else Status.HOLD))
            continue
        shortfall = 100 * (1 - cover / thresholds.days_of_cover) if per_day > 0 else 0.0
        severity = WORST if stock.available <= 0 else max(1.0, min(shortfall, WORST - 1))
        cover_text = "no sales lately" if per_day == 0 else f"{cover:.1f} days of cover"
        detail = f"{stock.available} available, {sold[stock.sku]} sold in {days} days, {cover_text}"
        if stock.reorder_point is not None:
            detail += f", reorder point {stock.reorder_point}"
        finding = Finding(
            trigger=Trigger.LOW_STOCK,
            condition=condition,
            metric=f"Stock of {stock.sku} ({stock.title})",
            value=float(stock.available),
            baseline=round(per_day * thresholds.days_of_cover, 1),
            threshold=f"below {thresholds.days_of_cover:g} days of cover"
            + (f" or its reorder point ({stock.reorder_point})" if below_point else ""),
            severity=round(severity, 1),
            unit="units",
            trend=tuple(float(day.all_units[stock.sku]) for day in by_day),
            trend_label=f"units sold on each of the past {days} days, then today",
            affected=(Affected(stock.sku, detail, shop.variant_url(stock)),),
            affected_total=1,
            currency=shop.currency,
        )
        evaluations.append(Evaluation(condition, Status.CROSSED, finding))
    return evaluations


def markedly_worse(alerted: Finding, now: Finding) -> bool:
    """Worth a new alert although the condition is already alerted."""
    if now.severity >= WORST > alerted.severity:
        return True
    return now.severity >= alerted.severity * WORSE_FACTOR[alerted.trigger]


def _judge(finding: Finding, how_far: float, threshold: float) -> Evaluation:
    if how_far > threshold:
        return Evaluation(finding.condition, Status.CROSSED, finding)
    if how_far < threshold * CLEAR_FRACTION:
        return Evaluation(finding.condition, Status.CLEAR)
    return Evaluation(finding.condition, Status.HOLD)


def _counts_as_sale(order: ShopOrder) -> bool:
    return not order.cancelled and order.financial not in NOT_SALES


def _is_delayed(order: ShopOrder, cutoff: datetime) -> bool:
    return (
        not order.cancelled
        and order.financial in PAID
        and order.fulfillment in UNFULFILLED
        and order.created_at < cutoff
    )


def _units(orders: Iterable[ShopOrder]) -> Counter[str]:
    units: Counter[str] = Counter()
    for order in orders:
        for sku, quantity in order.items:
            if sku:
                units[sku] += quantity
    return units


@dataclass
class _Day:
    """One day of the shop's sales: up to the current wall-clock time ("the same hours"),
    and units sold in the whole day (up to now, today)."""

    revenue: float = 0.0
    orders: int = 0
    units: Counter[str] = field(default_factory=Counter)
    all_units: Counter[str] = field(default_factory=Counter)


def _by_day(
    orders: Iterable[ShopOrder], now: datetime, timezone: ZoneInfo, days: int
) -> list[_Day]:
    """Today and the ``days`` days before it, in the shop's time zone: index 0 is today.
    One pass over the orders, however many days and SKUs are asked about."""
    local_now = now.astimezone(timezone)
    today, clock = local_now.date(), local_now.time()
    found = [_Day() for _ in range(days + 1)]
    for order in orders:
        if order.created_at >= now or not _counts_as_sale(order):
            continue
        local = order.created_at.astimezone(timezone)
        back = (today - local.date()).days
        if not 0 <= back <= days:
            continue
        day = found[back]
        in_same_hours = local.time() < clock
        if in_same_hours:
            day.revenue += order.total
            day.orders += 1
        for sku, quantity in order.items:
            if sku:
                day.all_units[sku] += quantity
                if in_same_hours:
                    day.units[sku] += quantity
    return found


def _sku_changes(
    shop: Shop, today: Counter[str], past: Counter[str], days: int, *, falling: bool
) -> tuple[Affected, ...]:
    """The SKUs whose units moved most against their same-hours average, in that direction."""
    changes = []
    for sku in set(today) | set(past):
        usual = past[sku] / days
        change = today[sku] - usual
        if (change < 0) if falling else (change > 0):
            changes.append((abs(change), sku, today[sku], usual))
    changes.sort(key=lambda c: (-c[0], c[1]))
    return tuple(
        Affected(sku, f"{now} sold today so far, {usual:.1f} usual by this hour", shop.sku_url(sku))
        for _, sku, now, usual in changes[:LISTED]
    )


def _money(amount: float, currency: str) -> str:
    return f"${amount:,.2f}" if currency == "USD" else f"{amount:,.2f} {currency}"


def _hours(elapsed: timedelta) -> str:
    hours = elapsed.total_seconds() / 3600
    return f"{hours:.0f} h" if hours < 72 else f"{hours / 24:.1f} days"


def _numeric(gid: str) -> str:
    return gid.rsplit("/", 1)[-1]
