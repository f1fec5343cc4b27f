"""The Shopify Admin GraphQL client against a scripted HTTP server on loopback, answering with
Shopify's captured responses (tests/fixtures/real/shopify_*)."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest

from bot.integrations.shopify import (
    API_VERSION,
    THROTTLE_RETRIES,
    ShopifyClient,
    ShopifyRejected,
    ShopifyThrottled,
    ShopifyUnavailable,
)
from tests.harness import real_fixture
from tests.scripted_http import Answer, Reply, ScriptedServer

TOKEN = "shpat_test_token"
ORDERS = "query Orders($after: String) { orders(first: 250, after: $after) { edges { cursor node { createdAt } } pageInfo { hasNextPage endCursor } } }"  # noqa: E501
PRODUCT = "query { product(id: 1) { title } }"


@dataclass
class Waits:
    """The injected sleep: records each wait instead of sleeping, and moves the clock on."""

    now: float = 1000.0
    slept: list[float] = field(default_factory=list)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds

    def clock(self) -> float:
        return self.now


@asynccontextmanager
async def shopify(*answers: Answer) -> AsyncIterator[tuple[ShopifyClient, ScriptedServer, Waits]]:
    waits = Waits()
    async with ScriptedServer(*answers) as server:
        client = ShopifyClient(server.url, TOKEN, sleep=waits.sleep, clock=waits.clock)
        try:
            yield client, server, waits
        finally:
            await client.aclose()
            await asyncio.sleep(0.01)  # let the server see the connection close


def orders_page(has_next: bool) -> dict:
    page = real_fixture("shopify_graphql_orders_response_with_cost.json")
    edges = page["data"]["orders"]["edges"]
    page["data"]["orders"]["pageInfo"] = {"hasNextPage": has_next, "endCursor": edges[-1]["cursor"]}
    return page


async def test_a_query_goes_to_the_pinned_version_with_the_token_and_returns_data() -> None:
    answer = real_fixture("shopify_graphql_success_with_cost_extension.json")
    async with shopify(Reply.json(200, answer)) as (client, server, waits):
        data = await client.query(PRODUCT)

    [request] = server.requests
    assert (request.method, request.path) == ("POST", f"/admin/api/{API_VERSION}/graphql.json")
    assert request.headers["x-shopify-access-token"] == TOKEN
    assert request.json() == {"query": PRODUCT, "variables": {}}
    assert data == answer["data"]
    assert client.bucket is not None and client.bucket.restore_rate == 50.0
    assert client.points_spent == 1 and waits.slept == []


@pytest.mark.parametrize(
    ("fixture", "status"),
    [
        ("shopify_graphql_throttled_error.json", 200),
        ("shopify_graphql_throttled_error.json", 429),
        ("shopify_graphql_throttled_error_legacy_no_code.json", 200),
    ],
)
async def test_a_throttled_answer_is_waited_out_then_retried(fixture: str, status: int) -> None:
    throttled = real_fixture(fixture)
    success = real_fixture("shopify_graphql_success_with_cost_extension.json")
    async with shopify(Reply.json(status, throttled), Reply.json(200, success)) as (
        client,
        server,
        waits,
    ):
        data = await client.query(PRODUCT)

    assert data == success["data"] and len(server.requests) == 2
    # waited until the bucket held what the query asked for: (752 − 666) / 50 s, or
    # (202 − 118) / 50 s for the older answer
    cost = throttled["extensions"]["cost"]
    status_ = cost["throttleStatus"]
    wanted = (cost["requestedQueryCost"] - status_["currentlyAvailable"]) / status_["restoreRate"]
    assert waits.slept == [round(wanted, 3)] and wanted > 1


async def test_a_query_waits_before_it_would_spend_more_than_the_bucket_holds() -> None:
    low = real_fixture("shopify_graphql_orders_response_with_cost.json")
    low["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] = 10
    async with shopify(Reply.json(200, low), Reply.json(200, copy.deepcopy(low))) as (
        client,
        _,
        waits,
    ):
        await client.query(ORDERS)
        await client.query(ORDERS)  # asks 46 points again; 10 are there, 100 come a second

    assert waits.slept == [0.36]


async def test_nodes_pages_through_a_connection_with_its_cursor() -> None:
    async with shopify(Reply.json(200, orders_page(True)), Reply.json(200, orders_page(False))) as (
        client,
        server,
        _,
    ):
        nodes = [node async for node in client.nodes(ORDERS, "orders")]

    assert len(nodes) == 6 and all("createdAt" in n for n in nodes)
    first, second = (r.json()["variables"] for r in server.requests)
    assert first == {"after": None}
    assert second == {"after": orders_page(True)["data"]["orders"]["pageInfo"]["endCursor"]}


async def test_still_throttled_after_the_last_wait_is_a_transient_failure() -> None:
    throttled = real_fixture("shopify_graphql_throttled_error.json")
    answers = [Reply.json(200, throttled) for _ in range(THROTTLE_RETRIES + 1)]
    async with shopify(*answers) as (client, server, _):
        with pytest.raises(ShopifyThrottled, match="still throttled"):
            await client.query(PRODUCT)
    assert len(server.requests) == THROTTLE_RETRIES + 1


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (Reply.json(200, {"errors": [{"message": "Field 'nope' doesn't exist"}]}), ShopifyRejected),
        (Reply.json(401, {"errors": "[API] Invalid API key or access token"}), ShopifyRejected),
        (Reply.text(503, "Service Unavailable"), ShopifyUnavailable),
        (Reply.text(200, "<html>not Shopify</html>"), ShopifyRejected),
    ],
)
async def test_failures_are_typed(answer: Reply, error: type[Exception]) -> None:
    async with shopify(answer) as (client, _, _):
        with pytest.raises(error):
            await client.query(PRODUCT)
