"""Finding the order a customer asks about, from the Shopify stand-in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.demo.standins.shopify import DEFAULT_TOKEN, ShopifyStandin, ShopShipment
from bot.domain import Shipment
from bot.integrations.shopify import ShopifyClient
from bot.integrations.shopify_orders import find_order

PLACED = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


async def test_an_order_is_found_by_number_with_its_items_and_tracking():
    async with ShopifyStandin() as shop:
        shop.add_order(PLACED - timedelta(days=30), 12.0, email="sam@example.com")
        order = shop.add_order(
            PLACED,
            89.5,
            email="sam@example.com",
            fulfillment="UNFULFILLED",
            line_items=[("MUG-1", 2, "Stoneware mug"), ("TEE-M", 1, "Logo tee (M)")],
        )
        shipped = PLACED + timedelta(days=2)
        shop.ship(
            order,
            ShopShipment(
                shipped_at=shipped,
                carrier="UPS",
                tracking_number="1Z999AA10123456784",
                tracking_url="https://www.ups.com/track?tracknum=1Z999AA10123456784",
                estimated_delivery_at=shipped + timedelta(days=3),
            ),
        )
        client = ShopifyClient(shop.url, DEFAULT_TOKEN)
        try:
            by_number = await find_order(client, number="1002", email="sam@example.com")
            by_email = await find_order(client, number=None, email="sam@example.com")
            unknown = await find_order(client, number="9999", email="sam@example.com")
            stranger = await find_order(client, number=None, email="nobody@example.com")
            not_theirs = await find_order(client, number="1002", email="eve@example.com")
        finally:
            await client.aclose()

    assert by_number is not None and by_number == by_email  # the latest of that email
    assert (by_number.name, by_number.placed_at, by_number.total) == ("#1002", PLACED, 89.5)
    assert (by_number.fulfillment_status, by_number.financial_status) == ("FULFILLED", "PAID")
    assert by_number.items == (("Stoneware mug", 2), ("Logo tee (M)", 1))
    assert by_number.shipments == (
        Shipment(
            status="IN_TRANSIT",
            shipped_at=shipped,
            carrier="UPS",
            tracking_number="1Z999AA10123456784",
            tracking_url="https://www.ups.com/track?tracknum=1Z999AA10123456784",
            estimated_delivery_at=shipped + timedelta(days=3),
        ),
    )
    assert unknown is None and stranger is None  # a wrong number is not guessed from the email
    assert not_theirs is None  # someone else's order number tells nothing
