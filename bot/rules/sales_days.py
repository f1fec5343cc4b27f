"""The shop's day, as Sales Pulse's triggers count it: "today" is the shop's day in the shop's
time zone, and "the same hours" of a past day run from its midnight to the current
wall-clock time."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from bot.domain import ShopOrder, SkuStock

BASELINE_DAYS = 7  # the past days each of today's numbers is measured against
NOT_SALES = frozenset({"VOIDED", "EXPIRED"})


@dataclass(frozen=True)
class Shop:
    """The shop as the triggers need it: its day, its money, its Admin links."""

    timezone: ZoneInfo
    admin_url: str  # https://store.myshopify.com/admin
    currency: str = "USD"

    def order_url(self, order_gid: str) -> str:
        return f"{self.admin_url}/orders/{numeric(order_gid)}"

    def sku_url(self, sku: str) -> str:
        """Shopify Admin's product search for a SKU (line items name no product here)."""
        return f"{self.admin_url}/products?{urlencode({'query': f'sku:{sku}'})}"

    def variant_url(self, stock: SkuStock) -> str:
        return (
            f"{self.admin_url}/products/{numeric(stock.product_id)}"
            f"/variants/{numeric(stock.variant_id)}"
        )


def day_start(now: datetime, timezone: ZoneInfo, days_back: int = 0) -> datetime:
    """Midnight in the shop's time zone, ``days_back`` days before today."""
    day = now.astimezone(timezone).date() - timedelta(days=days_back)
    return datetime.combine(day, time(0), timezone)


def window_start(now: datetime, timezone: ZoneInfo) -> datetime:
    """The oldest order the triggers need: midnight `BASELINE_DAYS` days ago."""
    return day_start(now, timezone, BASELINE_DAYS)


def counts_as_sale(order: ShopOrder) -> bool:
    return not order.cancelled and order.financial not in NOT_SALES


@dataclass
class Day:
    """One day of the shop's sales: up to the current wall-clock time ("the same hours"),
    and units sold in the whole day (up to now, today)."""

    revenue: float = 0.0
    orders: int = 0
    # Units by SKU, SKUs sold only: plain dicts, not Counters, because a window counts every
    # line item of a million orders into them, and a Counter's item assignment is twice as
    # slow as a dict's (it defines __delitem__). Read them with .get(sku, 0).
    units: dict[str, int] = field(default_factory=dict)
    all_units: dict[str, int] = field(default_factory=dict)


def money(amount: float, currency: str) -> str:
    return f"${amount:,.2f}" if currency == "USD" else f"{amount:,.2f} {currency}"


def hours(elapsed: timedelta) -> str:
    count = elapsed.total_seconds() / 3600
    return f"{count:.0f} h" if count < 72 else f"{count / 24:.1f} days"


def numeric(gid: str) -> str:
    return gid.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class SameHours:
    """Today so far against the same hours of the past days: revenue, orders and units."""

    revenue: list[float]  # each day's in the same hours, oldest first; today is the last
    orders: list[float]
    base_revenue: float  # the past days' average
    base_orders: float
    today_units: Counter[str]
    past_units: Counter[str]  # summed over the past days

    def judged(self, min_baseline_orders: float) -> bool:
        """Busy enough to judge: a quiet shop's "down 100 %" is one order fewer."""
        return self.base_orders >= min_baseline_orders and self.base_revenue > 0


def same_hours(days: list[Day]) -> SameHours:
    """The baseline of ``days`` (oldest first; today is the last)."""
    revenue = [round(day.revenue, 2) for day in days]
    orders = [float(day.orders) for day in days]
    past: Counter[str] = Counter()
    for day in days[:-1]:
        past.update(day.units)
    return SameHours(
        revenue,
        orders,
        sum(revenue[:-1]) / BASELINE_DAYS,
        sum(orders[:-1]) / BASELINE_DAYS,
        Counter(days[-1].units),
        past,
    )


SAME_HOURS = f"the same hours on each of the past {BASELINE_DAYS} days, then today"


def top_skus(sold: dict[str, int], count: int) -> list[str]:
    """The best-selling SKUs of ``sold`` (units by SKU), best first (ties by SKU)."""
    return [sku for sku, _ in sorted(sold.items(), key=lambda kv: (-kv[1], kv[0]))[:count]]
