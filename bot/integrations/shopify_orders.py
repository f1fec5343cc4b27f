"""One order for a draft: the customer's own order by its number, else their latest one.

An order is only ever looked up together with the customer's email address: anyone can type
an order number, and a draft must not tell them about someone else's order. The address goes
into the search as one quoted value, and the order that comes back must carry that address
itself: Shopify drops a search term it cannot use and returns what the rest matches
(docs/real-services.md), so the search alone proves nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from bot.domain import OrderFacts, Shipment
from bot.integrations.shopify import ShopifyClient, quoted
from bot.integrations.shopify_reads import parse_time

log = logging.getLogger("occ.shopify")

ITEMS = 10
SHIPMENTS = 5
ORDER = f"""
query OrderFacts($query: String!) {{
  orders(first: 1, query: $query, sortKey: CREATED_AT, reverse: true) {{
    edges {{ node {{
      name email createdAt cancelledAt displayFinancialStatus displayFulfillmentStatus
      totalPriceSet {{ shopMoney {{ amount currencyCode }} }}
      lineItems(first: {ITEMS}) {{ edges {{ node {{ title quantity }} }} }}
      fulfillments(first: {SHIPMENTS}) {{
        status displayStatus createdAt estimatedDeliveryAt deliveredAt
        trackingInfo(first: 1) {{ company number url }}
      }}
    }} }}
  }}
}}
"""


async def find_order(client: ShopifyClient, *, number: str | None, email: str) -> OrderFacts | None:
    """The order of ``email`` named ``number`` (digits), or without a number their latest
    order; None when Shopify has no such order of theirs. Raises `ShopifyError` when Shopify
    cannot answer."""
    query = f"email:{quoted(email)}"
    if number is not None:
        query = f"name:{quoted('#' + number)} {query}"
    data = await client.query(ORDER, {"query": query})
    edges = (data.get("orders") or {}).get("edges") or []
    if not edges:
        return None
    node = edges[0]["node"]
    if not same_address(node.get("email"), email):
        log.warning("Shopify answered a search for one address with another's order: not used")
        return None
    return order_facts(node)


def same_address(order_email: object, email: str) -> bool:
    return isinstance(order_email, str) and order_email.strip().casefold() == email.casefold()


def order_facts(node: dict[str, Any]) -> OrderFacts:
    money = (node.get("totalPriceSet") or {}).get("shopMoney") or {}
    items = [
        (str(e["node"].get("title") or "item"), int(e["node"].get("quantity") or 0))
        for e in (node.get("lineItems") or {}).get("edges") or []
        if e.get("node")
    ]
    return OrderFacts(
        name=str(node.get("name") or ""),
        placed_at=parse_time(node["createdAt"]),
        fulfillment_status=str(node.get("displayFulfillmentStatus") or "UNFULFILLED"),
        financial_status=node.get("displayFinancialStatus"),
        total=float(money.get("amount") or 0),
        currency=str(money.get("currencyCode") or "USD"),
        items=tuple(items),
        shipments=tuple(_shipment(f) for f in node.get("fulfillments") or []),
        cancelled_at=parse_time(node["cancelledAt"]) if node.get("cancelledAt") else None,
    )


def _shipment(fulfillment: dict[str, Any]) -> Shipment:
    tracking = (fulfillment.get("trackingInfo") or [{}])[0] or {}
    return Shipment(
        status=str(fulfillment.get("displayStatus") or fulfillment.get("status") or "SUCCESS"),
        shipped_at=parse_time(fulfillment["createdAt"]),
        carrier=tracking.get("company"),
        tracking_number=tracking.get("number"),
        tracking_url=tracking.get("url"),
        estimated_delivery_at=_optional(fulfillment.get("estimatedDeliveryAt")),
        delivered_at=_optional(fulfillment.get("deliveredAt")),
    )


def _optional(value: str | None) -> datetime | None:
    return parse_time(value) if value else None
