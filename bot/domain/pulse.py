"""The Sales Pulse tile (`/occ pulse`, the Home tab): what one Sales Pulse run read, summed up
small enough to keep whatever the shop's size, so that a question is answered from it and
never from Shopify."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class PulseOrder:
    """A paid order not yet fulfilled (or only partly), with its Shopify Admin link."""

    name: str  # "#1001"
    url: str
    created_at: datetime
    total: float  # in the shop's currency
    partly: bool = False  # partly fulfilled


@dataclass(frozen=True)
class PulseSku:
    """A top seller: units sold in the past days, its stock, and its Shopify Admin link."""

    sku: str
    title: str
    url: str
    sold: int  # units in the past days (the baseline's, 7)
    per_day: float  # their average a day
    available: int | None  # across locations; None when Shopify knows no such SKU

    @property
    def days_of_cover(self) -> float | None:
        """How long the stock lasts at the past days' rate; None when it is not known,
        infinite when nothing sold."""
        if self.available is None:
            return None
        return self.available / self.per_day if self.per_day > 0 else math.inf


@dataclass(frozen=True)
class PulseSnapshot:
    """One Sales Pulse run's reading of the shop, as of ``taken_at``. "Today" is the shop's
    day in the shop's time zone, and "usual" the average of the same hours (midnight to the
    time of the reading) on each of the past 7 days."""

    taken_at: datetime
    timezone: str  # the shop's IANA time zone
    currency: str
    revenue: float  # today so far
    usual_revenue: float
    orders: int  # today so far
    usual_orders: float
    today_by_hour: tuple[float, ...]  # revenue in each hour of today so far, from midnight
    usual_by_hour: tuple[float, ...]  # the past days' average revenue in each hour (24)
    unfulfilled: tuple[PulseOrder, ...]  # the oldest paid orders not yet fulfilled, oldest first
    unfulfilled_total: int  # how many there are in all
    top_skus: tuple[PulseSku, ...]  # best sellers first
