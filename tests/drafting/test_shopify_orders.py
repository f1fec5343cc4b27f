"""Finding the order a customer asks about, from the Shopify stand-in."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.demo.standins.shopify import DEFAULT_TOKEN, ShopifyStandin, ShopShipment
from bot.domain import Shipment
from bot.integrations.shopify import ShopifyClient
from bot.integrations.shopify_orders import find_order
from tests.harness import real_fixture
from tests.scripted_http import Reply, ScriptedServer

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


def answer_with_someone_elses_order(asked_for: str) -> dict:
    """What Shopify answers when it drops a search term it cannot use: the orders the rest
    of the search matches, and a warning in extensions.search (docs/real-services.md)."""
    answer = real_fixture("shopify_graphql_success_with_cost_extension.json")
    node = {
        "name": "#1001",
        "email": "victim@example.com",
        "createdAt": "2026-11-20T15:30:00Z",
        "cancelledAt": None,
        "displayFinancialStatus": "PAID",
        "displayFulfillmentStatus": "FULFILLED",
        "totalPriceSet": {"shopMoney": {"amount": "89.50", "currencyCode": "USD"}},
        "lineItems": {"edges": [{"node": {"title": "Stoneware mug", "quantity": 2}}]},
        "fulfillments": [],
    }
    answer["data"] = {"orders": {"edges": [{"node": node}]}}
    answer["extensions"]["search"] = [
        {
            "path": ["orders"],
            "query": asked_for,
            "warnings": [
                {
                    "field": "email",
                    "message": "Invalid search field for this query.",
                    "code": "invalid_field",
                }
            ],
        }
    ]
    return answer


async def test_an_order_that_is_not_the_askers_own_is_never_used():
    asked = 'name:"#1001" email:"eve@example.com"'
    async with ScriptedServer(Reply.json(200, answer_with_someone_elses_order(asked))) as server:
        client = ShopifyClient(server.url, DEFAULT_TOKEN)
        try:
            found = await find_order(client, number="1001", email="eve@example.com")
        finally:
            await client.aclose()
            await asyncio.sleep(0.01)  # let the server see the connection close
    [request] = server.requests
    assert request.json()["variables"]["query"] == asked
    assert found is None


async def test_the_search_quotes_the_address_so_it_stays_one_value():
    """Shopify's search syntax: a quoted value, where a backslash escapes \\ and "."""
    async with ShopifyStandin() as shop:
        shop.add_order(PLACED, 12.0, email="sam@example.com")
        client = ShopifyClient(shop.url, DEFAULT_TOKEN)
        try:
            hostile = 'x" OR email:"sam@example.com'
            found = await find_order(client, number=None, email=hostile)
            slashed = await find_order(client, number=None, email="sam@example.com\\")
        finally:
            await client.aclose()
    assert found is None and slashed is None
    assert shop.requests[0].variables["query"] == 'email:"x\\" OR email:\\"sam@example.com"'
    assert shop.requests[1].variables["query"] == 'email:"sam@example.com\\\\"'
