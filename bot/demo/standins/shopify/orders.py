"""The Shopify stand-in's orders: seeding them (placed, shipped, refunded), the ``orders`` and
``ordersCount`` queries, and an order as the Admin API shows it.

Its token has `scopes` (``currentAppInstallation.accessScopes``). Without
``read_all_orders`` it shows only the last 60 days of orders, as Shopify does: an older
order is simply not there (docs/real-services.md).

An order's ``updatedAt`` moves as Shopify's does when it is shipped (:meth:`Orders.ship`) or
refunded (:meth:`Orders.add_refund`); a test that changes an order's fields by hand moves it
by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.demo.standins.shopify.connections import Run, root_connection
from bot.demo.standins.shopify.model import ShopOrder, ShopRefund, ShopShipment, iso
from bot.demo.standins.shopify.search import Search

# A custom app's usual scopes for occ-bot, without read_all_orders (Shopify grants that one
# on request): orders older than ORDERS_WINDOW are invisible.
DEFAULT_SCOPES = ("read_orders", "read_products", "read_inventory")
ORDERS_WINDOW = timedelta(days=60)

ORDER_FIELDS = {
    "created_at",
    "updated_at",
    "financial_status",
    "fulfillment_status",
    "status",
    "email",
    "name",
}


class Orders:
    """Orders, seeded and queried (set up by `ShopifyStandin`)."""

    orders: list[ShopOrder]
    currency: str
    scopes: set[str]
    _clock: Callable[[], float]

    def add_order(
        self,
        created_at: datetime,
        total: float,
        *,
        financial: str = "PAID",
        fulfillment: str = "FULFILLED",
        email: str | None = None,
        customer_name: str = "Sample Customer",
        line_items: Iterable[tuple[str, int]] | Iterable[tuple[str, int, str]] = (),
        cancelled_at: datetime | None = None,
    ) -> ShopOrder:
        items = [(i[0], i[1], i[2] if len(i) > 2 else i[0]) for i in line_items]  # type: ignore[misc]
        order = ShopOrder(
            number=1001 + len(self.orders),
            created_at=created_at.astimezone(UTC),
            total=round(total, 2),
            financial=financial,
            fulfillment=fulfillment,
            email=email,
            customer_name=customer_name,
            line_items=items,
            cancelled_at=cancelled_at,
        )
        self.orders.append(order)
        return order

    def ship(self, order: ShopOrder, shipment: ShopShipment) -> None:
        """Add a fulfillment to a seeded order (it becomes FULFILLED)."""
        order.shipments.append(shipment)
        order.fulfillment = "FULFILLED"
        order.touch(shipment.shipped_at)

    def add_refund(
        self, order: ShopOrder, at: datetime, amount: float, *, note: str | None = None
    ) -> ShopRefund:
        """Refund ``amount`` of a seeded order at ``at``, as Shopify's ``refundCreate`` would:
        only a paid order, not before it was placed, and not more than is left to refund. Its
        financial status becomes PARTIALLY_REFUNDED or REFUNDED, and its ``updatedAt`` moves
        to ``at``."""
        amount = round(amount, 2)
        if order.financial not in ("PAID", "PARTIALLY_REFUNDED"):
            raise ValueError(f"order #{order.number} is {order.financial}: nothing to refund")
        if at < order.created_at:
            raise ValueError(f"order #{order.number} was placed after {at.isoformat()}")
        if not 0 < amount <= round(order.total - order.refunded, 2):
            left = order.total - order.refunded
            raise ValueError(f"order #{order.number} has {left:.2f} left to refund, not {amount}")
        refund = ShopRefund(at.astimezone(UTC), amount, note)
        order.refunds.append(refund)
        order.financial = "REFUNDED" if order.refunded >= order.total else "PARTIALLY_REFUNDED"
        order.touch(at)
        return refund

    def sort_orders(self) -> None:
        """Keep orders by creation time after seeding them out of order."""
        self.orders.sort(key=lambda order: (order.created_at, order.number))

    def resolve_orders(self, run: Run, args: dict[str, Any]) -> dict[str, Any]:
        matches = Search(args.get("query"), ORDER_FIELDS)
        run.search += matches.warnings(["orders"])

        def find() -> list[ShopOrder]:
            found = [
                o for o in self._visible_orders() if matches(lambda f, o=o: _order_field(o, f))
            ]
            sort_key = args.get("sortKey")
            if sort_key == "UPDATED_AT":
                found.sort(key=lambda o: (o.last_updated, o.number))
            elif sort_key in ("ID", "CREATED_AT", "PROCESSED_AT"):
                found.sort(key=lambda o: (o.created_at, o.number) if sort_key != "ID" else o.number)
            if args.get("reverse"):
                found.reverse()
            return found

        return root_connection(run, "orders", find, args, self.order_json)

    def resolve_orders_count(self, args: dict[str, Any]) -> dict[str, Any]:
        matches = Search(args.get("query"), ORDER_FIELDS)
        count = sum(1 for o in self._visible_orders() if matches(lambda f, o=o: _order_field(o, f)))
        limit = args.get("limit")
        if limit is not None and count > limit:
            return {"count": limit, "precision": "AT_LEAST"}
        return {"count": count, "precision": "EXACT"}

    def order_json(self, order: ShopOrder) -> dict[str, Any]:
        money = {"amount": f"{order.total:.2f}", "currencyCode": self.currency}
        return {
            "id": order.gid,
            "name": f"#{order.number}",
            "createdAt": iso(order.created_at),
            "processedAt": iso(order.created_at),
            "updatedAt": iso(order.last_updated),
            "cancelledAt": iso(order.cancelled_at) if order.cancelled_at else None,
            "email": order.email,
            "customer": {
                "id": f"gid://shopify/Customer/{9_000_000 + order.number}",
                "displayName": order.customer_name,
                "email": order.email,
            },
            "displayFinancialStatus": order.financial,
            "displayFulfillmentStatus": order.fulfillment,
            "totalPriceSet": {"shopMoney": money, "presentmentMoney": money},
            "fulfillments": [
                self.shipment_json(order.number, n, shipment)
                for n, shipment in enumerate(order.shipments)
            ],
            "_lineItems": order.line_items,
            "_refunds": [
                self.refund_json(order.number, n, refund) for n, refund in enumerate(order.refunds)
            ],
            "_number": order.number,
        }

    def refund_json(self, order_number: int, index: int, refund: ShopRefund) -> dict[str, Any]:
        money = {"amount": f"{refund.amount:.2f}", "currencyCode": self.currency}
        return {
            "id": f"gid://shopify/Refund/{order_number * 10 + index}",
            "createdAt": iso(refund.created_at),
            "updatedAt": iso(refund.created_at),
            "note": refund.note,
            "totalRefundedSet": {"shopMoney": money, "presentmentMoney": money},
        }

    def shipment_json(self, order_number: int, index: int, shipment: ShopShipment) -> dict:
        tracking = {
            "company": shipment.carrier,
            "number": shipment.tracking_number,
            "url": shipment.tracking_url,
        }
        return {
            "id": f"gid://shopify/Fulfillment/{order_number * 10 + index}",
            "status": "SUCCESS",
            "displayStatus": shipment.display_status,
            "createdAt": iso(shipment.shipped_at),
            "inTransitAt": iso(shipment.shipped_at),
            "estimatedDeliveryAt": iso(shipment.estimated_delivery_at)
            if shipment.estimated_delivery_at
            else None,
            "deliveredAt": iso(shipment.delivered_at) if shipment.delivered_at else None,
            "trackingInfo": [tracking] if shipment.tracking_number else [],
        }

    def _visible_orders(self) -> list[ShopOrder]:
        """The orders the token may see: all with ``read_all_orders``, else the last 60 days'."""
        if "read_all_orders" in self.scopes:
            return self.orders
        since = datetime.fromtimestamp(self._clock(), UTC) - ORDERS_WINDOW
        return [order for order in self.orders if order.created_at >= since]


def _order_field(order: ShopOrder, name: str) -> Any:
    return {
        "created_at": order.created_at,
        "updated_at": order.last_updated,
        "financial_status": order.financial,
        "fulfillment_status": order.fulfillment,
        "status": "cancelled" if order.cancelled_at else "open",
        "email": order.email,
        "name": f"#{order.number}",
    }[name]
