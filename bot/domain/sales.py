"""Sales Pulse: what is read from Shopify, the triggers and their findings, alerts, responses
and follow-ups."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

from bot.domain.log import SlackRef


@dataclass(frozen=True, slots=True)
class ShopRefund:
    """Money given back on an order, on the day it was given."""

    created_at: datetime
    amount: float  # in the shop's currency


class ShopOrder(NamedTuple):
    """What Sales Pulse reads of a Shopify order. Immutable as the other values here, but a
    named tuple: a run makes one for each order of its window (a million in a large shop),
    and a frozen dataclass takes about four times as long to make."""

    id: str  # gid://shopify/Order/…
    name: str  # "#1001"
    created_at: datetime
    total: float  # in the shop's currency
    financial: str  # displayFinancialStatus: PAID, PENDING, …
    fulfillment: str  # displayFulfillmentStatus: UNFULFILLED, FULFILLED, …
    email: str | None = None
    cancelled: bool = False
    items: tuple[tuple[str, int], ...] = ()  # (sku, quantity) per line item
    refunds: tuple[ShopRefund, ...] = ()


@dataclass(frozen=True)
class SkuStock:
    """A top-selling SKU's stock: what is available across locations, and its reorder point
    where the merchant keeps one (variant metafield ``occ.reorder_point``)."""

    sku: str
    title: str
    available: int
    variant_id: str
    product_id: str
    reorder_point: int | None = None


class Trigger(StrEnum):
    """Sales Pulse's decision triggers (the source documents' four, and refund spike), each
    with its spec in `bot.rules.sales`."""

    REVENUE_DROP = "revenue_drop"
    ORDER_SPIKE = "order_spike"
    FULFILLMENT_DELAY = "fulfillment_delay"
    LOW_STOCK = "low_stock"
    REFUND_SPIKE = "refund_spike"


@dataclass(frozen=True)
class Affected:
    """An order or SKU an alert is about, with its Shopify Admin link."""

    label: str  # "#1001" or the SKU
    detail: str  # "$84.00, paid 31 h ago, customer@example.com" / "3 left, 1.5 days of cover"
    url: str
    email: str | None = None  # the customer's, for finding their Chatwoot conversations


@dataclass(frozen=True)
class Finding:
    """A trigger crossed: what Sales Pulse alerts about. ``condition`` names the ongoing
    condition (``fulfillment_delay``, ``low_stock:SKU-1``), so it is alerted once."""

    trigger: Trigger
    condition: str
    metric: str  # "Revenue today so far"
    value: float
    baseline: float | None  # None where there is no baseline (delays, stock)
    threshold: str  # "more than 15% below the 7-day average"
    severity: float  # how bad, in the trigger's own unit; compared to re-alert when worse
    unit: str  # "money", "orders", "units"
    trend: tuple[float, ...] = ()  # oldest first; the last value is now
    trend_label: str = ""  # what the trend's points are
    affected: tuple[Affected, ...] = ()
    affected_total: int = 0  # how many there are in all (affected lists the first ones)
    currency: str = "USD"


@dataclass(frozen=True)
class SalesResponse:
    """Someone acting on an alert: ``kind`` is `SalesResponseKind`'s value."""

    kind: str
    actor: str
    at: datetime
    detail: dict[str, Any] = field(default_factory=dict)


class SalesResponseKind(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    LEAD_NOTIFIED = "lead_notified"
    MANAGER_PAGED = "manager_paged"
    REORDER_STARTED = "reorder_started"


@dataclass(frozen=True)
class SalesAlert:
    """One alert message about a `Finding`. A markedly worse finding of the same condition
    is a new alert that supersedes this one; a cleared condition closes it."""

    id: str
    finding: Finding
    opened_at: datetime
    message: SlackRef | None = None
    supersedes: str | None = None  # the alert this one replaced, being worse
    superseded_by: str | None = None
    cleared_at: datetime | None = None
    clear_message: SlackRef | None = None
    responses: tuple[SalesResponse, ...] = ()

    @property
    def condition(self) -> str:
        return self.finding.condition

    def response(self, kind: str) -> SalesResponse | None:
        return next((r for r in self.responses if r.kind == kind), None)


@dataclass(frozen=True)
class SalesFollowup:
    """A follow-up created from an alert; its owner is reminded once it is due."""

    id: str
    alert_id: str
    owner: str
    due_at: datetime
    note: str
    created_by: str
    created_at: datetime
    reminded_at: datetime | None = None
