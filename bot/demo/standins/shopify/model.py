"""The Shopify stand-in's seeded shop, as records: orders with their shipments and refunds,
product variants, the requests it answered, and how it writes a time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass
class ShopOrder:
    """One order of the seeded shop; see :meth:`ShopifyStandin.add_order`."""

    number: int
    created_at: datetime
    total: float
    financial: str
    fulfillment: str
    email: str | None
    customer_name: str
    line_items: list[tuple[str, int, str]]  # sku, quantity, title
    cancelled_at: datetime | None = None
    shipments: list[ShopShipment] = field(default_factory=list)
    refunds: list[ShopRefund] = field(default_factory=list)
    updated_at: datetime | None = None  # None: when it was created

    @property
    def gid(self) -> str:
        return f"gid://shopify/Order/{5_000_000 + self.number}"

    @property
    def last_updated(self) -> datetime:
        return self.updated_at or self.created_at

    @property
    def refunded(self) -> float:
        return round(sum(refund.amount for refund in self.refunds), 2)

    def touch(self, at: datetime) -> None:
        """Changed at ``at``: its ``updatedAt`` moves there, never back."""
        self.updated_at = max(self.last_updated, at.astimezone(UTC))


@dataclass
class ShopShipment:
    """A fulfillment of an order, with one tracking number; see :meth:`ShopifyStandin.ship`."""

    shipped_at: datetime
    display_status: str = "IN_TRANSIT"
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    estimated_delivery_at: datetime | None = None
    delivered_at: datetime | None = None


@dataclass
class ShopRefund:
    """Money given back on an order; see :meth:`ShopifyStandin.add_refund`."""

    created_at: datetime
    amount: float
    note: str | None = None


@dataclass
class ShopVariant:
    sku: str
    title: str
    product_title: str
    available: dict[str, int]  # location name -> available quantity
    number: int = 0
    metafields: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def gid(self) -> str:
        return f"gid://shopify/ProductVariant/{7_000_000 + self.number}"


@dataclass(frozen=True)
class Recorded:
    path: str
    query: str
    variables: dict[str, Any]
    status: int
    requested_cost: int | None
    actual_cost: int | None
    throttled: bool


def iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
