"""A Shopify Admin GraphQL API on 127.0.0.1 for tests, benchmarks and `occ-bot demo`: a seeded
shop, metered.

It executes real GraphQL (``graphql-core``) against a subset of the Admin schema
(`SCHEMA`): ``shop``, ``orders`` / ``ordersCount`` with Shopify's search syntax (``created_at``,
``updated_at``, ``financial_status``, ``fulfillment_status``, ``status``, ``email``, ``name``)
and orders' fulfillments with tracking and refunds, ``productVariants``
(``sku``) with inventory levels, ``node``, and bulk query operations
(``bulkOperationRunQuery``, polled through ``node``, results as JSONL with ``__parentId``).

Every query is metered as Shopify does: a requested cost from the query's shape (objects 1,
connections 2 + ``first`` × their nodes, mutations 10), refused above 1,000, taken from a
leaky bucket that refills at ``restore_rate`` points a second, with the difference to the
actual cost (from what was returned) refunded. A query the bucket cannot cover gets the
``THROTTLED`` error, and every answer carries ``extensions.cost``. :attr:`spent` and
:attr:`throttled` count what clients used and how often they ran dry.

It is stricter than Shopify in one way: an unsupported search field is an error, where
Shopify would ignore it, so that a typo in the bot's queries cannot go unnoticed.

Its token has `scopes` (``currentAppInstallation.accessScopes``). Without
``read_all_orders`` it shows only the last 60 days of orders, as Shopify does: an older
order is simply not there (docs/real-services.md).

An order's ``updatedAt`` moves as Shopify's does when it is shipped (:meth:`ship`) or refunded
(:meth:`add_refund`); a test that changes an order's fields by hand moves it by hand.

Outages: :meth:`down` answers every request with one status, :meth:`hang` holds requests;
:meth:`up` ends both.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    build_schema,
    get_named_type,
    graphql_sync,
    parse,
    validate,
    value_from_ast_untyped,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from bot.demo.standins.server import Standin

DEFAULT_TOKEN = "shpat_occ_standin"
MAX_QUERY_COST = 1000
MAX_PAGE = 250
MUTATION_COST = 10
THROTTLED_DOCS = "https://shopify.dev/api/usage/rate-limits"

SCHEMA = """
scalar DateTime
scalar Decimal
scalar URL
scalar UnsignedInt64

enum CurrencyCode { USD EUR GBP CAD AUD }
enum OrderDisplayFinancialStatus {
  AUTHORIZED EXPIRED PAID PARTIALLY_PAID PARTIALLY_REFUNDED PENDING REFUNDED VOIDED
}
enum OrderDisplayFulfillmentStatus {
  FULFILLED IN_PROGRESS ON_HOLD OPEN PARTIALLY_FULFILLED PENDING_FULFILLMENT
  REQUEST_DECLINED RESTOCKED SCHEDULED UNFULFILLED
}
enum OrderSortKeys { CREATED_AT ID PROCESSED_AT UPDATED_AT }
enum ProductVariantSortKeys { ID SKU }
enum CountPrecision { AT_LEAST EXACT }
enum BulkOperationStatus { CANCELED CANCELING COMPLETED CREATED EXPIRED FAILED RUNNING }
enum BulkOperationType { MUTATION QUERY }
enum BulkOperationErrorCode { ACCESS_DENIED INTERNAL_SERVER_ERROR TIMEOUT }

interface Node { id: ID! }

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}
type MoneyV2 { amount: Decimal! currencyCode: CurrencyCode! }
type MoneyBag { shopMoney: MoneyV2! presentmentMoney: MoneyV2! }
type Shop {
  id: ID!
  name: String!
  myshopifyDomain: String!
  ianaTimezone: String!
  currencyCode: CurrencyCode!
}
type Customer implements Node { id: ID! displayName: String! email: String }
type Order implements Node {
  id: ID!
  name: String!
  createdAt: DateTime!
  processedAt: DateTime!
  updatedAt: DateTime!
  cancelledAt: DateTime
  email: String
  customer: Customer
  displayFinancialStatus: OrderDisplayFinancialStatus
  displayFulfillmentStatus: OrderDisplayFulfillmentStatus!
  totalPriceSet: MoneyBag!
  lineItems(first: Int, after: String, last: Int, before: String): LineItemConnection!
  fulfillments(first: Int): [Fulfillment!]!
  refunds(first: Int): [Refund!]!
}
type Refund implements Node {
  id: ID!
  createdAt: DateTime
  updatedAt: DateTime!
  note: String
  totalRefundedSet: MoneyBag!
}
enum FulfillmentStatus { CANCELLED ERROR FAILURE SUCCESS OPEN PENDING }
enum FulfillmentDisplayStatus {
  ATTEMPTED_DELIVERY CANCELED CONFIRMED DELIVERED FAILURE FULFILLED IN_TRANSIT LABEL_PRINTED
  LABEL_PURCHASED LABEL_VOIDED MARKED_AS_FULFILLED NOT_DELIVERED OUT_FOR_DELIVERY PICKED_UP
  READY_FOR_PICKUP SUBMITTED
}
type FulfillmentTrackingInfo { company: String number: String url: URL }
type Fulfillment implements Node {
  id: ID!
  status: FulfillmentStatus!
  displayStatus: FulfillmentDisplayStatus
  createdAt: DateTime!
  inTransitAt: DateTime
  estimatedDeliveryAt: DateTime
  deliveredAt: DateTime
  trackingInfo(first: Int): [FulfillmentTrackingInfo!]!
}
type LineItem {
  id: ID!
  name: String!
  title: String!
  quantity: Int!
  sku: String
  variant: ProductVariant
}
type LineItemEdge { cursor: String! node: LineItem! }
type LineItemConnection { edges: [LineItemEdge!]! nodes: [LineItem!]! pageInfo: PageInfo! }
type OrderEdge { cursor: String! node: Order! }
type OrderConnection { edges: [OrderEdge!]! nodes: [Order!]! pageInfo: PageInfo! }
type Count { count: Int! precision: CountPrecision! }
type Location { id: ID! name: String! }
type InventoryQuantity { id: ID! name: String! quantity: Int! }
type InventoryLevel {
  id: ID!
  location: Location!
  quantities(names: [String!]!): [InventoryQuantity!]!
}
type InventoryLevelEdge { cursor: String! node: InventoryLevel! }
type InventoryLevelConnection {
  edges: [InventoryLevelEdge!]!
  nodes: [InventoryLevel!]!
  pageInfo: PageInfo!
}
type InventoryItem {
  id: ID!
  sku: String
  tracked: Boolean!
  inventoryLevels(first: Int, after: String, last: Int, before: String): InventoryLevelConnection!
}
type Product { id: ID! title: String! }
type ProductVariant implements Node {
  id: ID!
  sku: String
  title: String!
  displayName: String!
  inventoryQuantity: Int
  product: Product!
  inventoryItem: InventoryItem!
  metafield(namespace: String, key: String!): Metafield
}
type Metafield { id: ID! namespace: String! key: String! value: String! type: String! }
type ProductVariantEdge { cursor: String! node: ProductVariant! }
type ProductVariantConnection {
  edges: [ProductVariantEdge!]!
  nodes: [ProductVariant!]!
  pageInfo: PageInfo!
}
type BulkOperation implements Node {
  id: ID!
  status: BulkOperationStatus!
  errorCode: BulkOperationErrorCode
  createdAt: DateTime!
  completedAt: DateTime
  objectCount: UnsignedInt64!
  rootObjectCount: UnsignedInt64!
  fileSize: UnsignedInt64
  url: URL
  partialDataUrl: URL
  query: String!
  type: BulkOperationType!
}
type BulkOperationUserError { code: String field: [String!] message: String! }
type BulkOperationRunQueryPayload {
  bulkOperation: BulkOperation
  userErrors: [BulkOperationUserError!]!
}
type Query {
  shop: Shop!
  orders(
    first: Int, after: String, last: Int, before: String,
    query: String, sortKey: OrderSortKeys = ID, reverse: Boolean = false
  ): OrderConnection!
  ordersCount(query: String, limit: Int = 10000): Count
  productVariants(
    first: Int, after: String, last: Int, before: String,
    query: String, sortKey: ProductVariantSortKeys = ID, reverse: Boolean = false
  ): ProductVariantConnection!
  node(id: ID!): Node
  currentBulkOperation(type: BulkOperationType = QUERY): BulkOperation
  currentAppInstallation: AppInstallation!
}
type AccessScope { handle: String! description: String! }
type AppInstallation { id: ID! accessScopes: [AccessScope!]! }
type BulkOperationCancelPayload {
  bulkOperation: BulkOperation
  userErrors: [BulkOperationUserError!]!
}
type Mutation {
  bulkOperationRunQuery(query: String!, groupObjects: Boolean): BulkOperationRunQueryPayload
  bulkOperationCancel(id: ID!): BulkOperationCancelPayload
}
"""

FULFILLMENT_SEARCH = {
    "unfulfilled": {"UNFULFILLED"},
    "unshipped": {"UNFULFILLED"},
    "partial": {"PARTIALLY_FULFILLED"},
    "shipped": {"FULFILLED"},
    "fulfilled": {"FULFILLED"},
    "on_hold": {"ON_HOLD"},
    "scheduled": {"SCHEDULED"},
    "request_declined": {"REQUEST_DECLINED"},
}


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


@dataclass
class _BulkOperation:
    number: int
    query: str
    created_at: datetime
    polls_left: int
    lines: list[str] = field(default_factory=list)
    root_count: int = 0
    status: str = "CREATED"
    completed_at: datetime | None = None
    ready: threading.Event = field(default_factory=threading.Event)
    failed: bool = False

    @property
    def gid(self) -> str:
        return f"gid://shopify/BulkOperation/{self.number}"


@dataclass(frozen=True)
class Recorded:
    path: str
    query: str
    variables: dict[str, Any]
    status: int
    requested_cost: int | None
    actual_cost: int | None
    throttled: bool


@dataclass
class _Bucket:
    maximum: float
    restore_rate: float
    available: float
    at: float

    def refill(self, now: float) -> None:
        self.available = min(self.maximum, self.available + (now - self.at) * self.restore_rate)
        self.at = now


@dataclass
class _Run:
    """Per-execution state: bulk mode ignores ``first`` and returns every node."""

    bulk: bool = False
    errors: list[str] = field(default_factory=list)
    # extensions.search: the terms Shopify dropped from each search, and why
    search: list[dict[str, Any]] = field(default_factory=list)


# A custom app's usual scopes for occ-bot, without read_all_orders (Shopify grants that one
# on request): orders older than ORDERS_WINDOW are invisible.
DEFAULT_SCOPES = ("read_orders", "read_products", "read_inventory")
ORDERS_WINDOW = timedelta(days=60)


class ShopifyStandin(Standin):
    """A shop's Admin GraphQL API on 127.0.0.1.

    Args:
        token: the accepted ``X-Shopify-Access-Token``.
        timezone: the shop's IANA time zone (``shop.ianaTimezone``).
        maximum, restore_rate: the cost bucket (Standard plan: 2,000 points, 100 a second).
        bulk_polls: how many polls of a bulk operation see it running before it completes.
        scopes: the token's access scopes; without ``read_all_orders`` orders older than
            60 days are hidden.
        clock: seconds since the epoch, for bulk operations' timestamps.
        monotonic: seconds, for the bucket.
    """

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        timezone: str = "UTC",
        currency: str = "USD",
        maximum: float = 2000.0,
        restore_rate: float = 100.0,
        bulk_polls: int = 1,
        scopes: Iterable[str] = DEFAULT_SCOPES,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        log_level: str | int | None = None,
    ) -> None:
        super().__init__(log_level=log_level)
        self.token = token
        self.timezone = timezone
        self.currency = currency
        self.bulk_polls = bulk_polls
        self.scopes = set(scopes)
        self._clock = clock
        self._monotonic = monotonic
        self._bucket = _Bucket(maximum, restore_rate, maximum, monotonic())
        self._schema = _schema(self)
        self.orders: list[ShopOrder] = []
        self.variants: list[ShopVariant] = []
        self._first_by_sku: dict[str, ShopVariant] = {}
        self._bulk: list[_BulkOperation] = []
        self.requests: list[Recorded] = []
        self.spent = 0.0
        """Cost points taken from the bucket (actual costs), over all answered queries."""
        self.throttled = 0
        """Queries answered THROTTLED."""
        self.served_version: str | None = None
        """Answer as this API version whatever was asked (a retired version, say)."""
        self._down: int | None = None
        self._hang_seconds = 0.0
        self._release = asyncio.Event()

    # -- seeding -------------------------------------------------------------------------------

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

    def add_variant(
        self,
        sku: str,
        available: int | dict[str, int],
        *,
        title: str = "Default Title",
        product_title: str | None = None,
        reorder_point: int | None = None,
    ) -> ShopVariant:
        levels = available if isinstance(available, dict) else {"Main warehouse": available}
        variant = ShopVariant(
            sku, title, product_title or sku, dict(levels), number=len(self.variants) + 1
        )
        if reorder_point is not None:
            variant.metafields["occ", "reorder_point"] = str(reorder_point)
        self.variants.append(variant)
        self._first_by_sku.setdefault(sku, variant)
        return variant

    # -- outages and inspection ----------------------------------------------------------------

    def down(self, status: int = 503) -> None:
        self._down = status

    def hang(self, seconds: float) -> None:
        self._hang_seconds = seconds
        if self._release.is_set():
            self._release = asyncio.Event()

    def up(self) -> None:
        self._down = None
        self._hang_seconds = 0.0
        self._release.set()

    async def stop(self) -> None:
        self._release.set()
        await super().stop()

    @property
    def maximum(self) -> float:
        return self._bucket.maximum

    @property
    def restore_rate(self) -> float:
        return self._bucket.restore_rate

    def drain(self, points: float) -> None:
        """Take ``points`` from the bucket, as another app of the shop would."""
        self._bucket.refill(self._monotonic())
        self._bucket.available = max(0.0, self._bucket.available - points)

    # -- HTTP ----------------------------------------------------------------------------------

    def build_app(self) -> ASGIApp:
        return Starlette(
            routes=[
                Route("/admin/api/{version}/graphql.json", self._graphql, methods=["POST"]),
                Route("/bulk/{number:int}.jsonl", self._bulk_file),
            ]
        )

    async def _graphql(self, request: Request) -> Response:
        raw = await request.body()  # read first: a held request is one the server has
        if self._hang_seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), timeout=self._hang_seconds)
        if self._down is not None:
            return PlainTextResponse(HTTPStatus(self._down).phrase, status_code=self._down)
        if request.headers.get("x-shopify-access-token") != self.token:
            return JSONResponse(
                {
                    "errors": "[API] Invalid API key or access token (unrecognized login or "
                    "wrong password)"
                },
                status_code=401,
            )
        version = request.path_params["version"]
        if not re.fullmatch(r"\d{4}-\d{2}|unstable", version):
            return PlainTextResponse("Not Found", status_code=404)
        try:
            body = json.loads(raw)
            document, variables = body["query"], body.get("variables") or {}
        except (ValueError, KeyError, TypeError):
            return JSONResponse(
                {"errors": {"query": "Required parameter missing or invalid"}}, status_code=400
            )
        answer, recorded = self._answer(request.url.path, document, variables)
        self.requests.append(recorded)
        served = self.served_version or version  # Shopify falls forward from a retired one
        return JSONResponse(answer, headers={"X-Shopify-API-Version": served})

    async def _bulk_file(self, request: Request) -> Response:
        number = request.path_params["number"]
        for operation in self._bulk:
            if operation.number == number and operation.status == "COMPLETED":
                return PlainTextResponse("".join(operation.lines), media_type="application/jsonl")
        return PlainTextResponse("NoSuchKey", status_code=404)

    # -- GraphQL -------------------------------------------------------------------------------

    def _answer(
        self, path: str, document: str, variables: dict[str, Any]
    ) -> tuple[dict[str, Any], Recorded]:
        def recorded(requested: int | None, actual: int | None, throttled: bool) -> Recorded:
            return Recorded(path, document, variables, 200, requested, actual, throttled)

        try:
            ast = parse(document)
        except GraphQLError as error:
            return {"errors": [error.formatted]}, recorded(None, None, False)
        problems = validate(self._schema, ast)
        if problems:
            return {"errors": [p.formatted for p in problems]}, recorded(None, None, False)
        operation = next(d for d in ast.definitions if isinstance(d, OperationDefinitionNode))
        requested = self._requested_cost(operation, variables)
        if requested > MAX_QUERY_COST:
            message = (
                f"Query cost is {requested}, which exceeds the single query max cost "
                f"limit ({MAX_QUERY_COST})."
            )
            error = {
                "message": message,
                "extensions": {
                    "code": "MAX_COST_EXCEEDED",
                    "cost": requested,
                    "maxCost": MAX_QUERY_COST,
                },
            }
            return {"errors": [error]}, recorded(requested, None, False)
        bucket = self._bucket
        bucket.refill(self._monotonic())
        if requested > bucket.available:
            self.throttled += 1
            answer = {
                "errors": [
                    {
                        "message": "Throttled",
                        "extensions": {"code": "THROTTLED", "documentation": THROTTLED_DOCS},
                    }
                ],
                "extensions": {"cost": self._cost(requested, None)},
            }
            return answer, recorded(requested, None, True)
        bucket.available -= requested
        run = _Run()
        result = graphql_sync(self._schema, document, variable_values=variables, context_value=run)
        data = result.data
        actual = (
            requested
            if operation.operation == OperationType.MUTATION
            else (_actual_cost(operation.selection_set, data) if data is not None else 0)
        )
        bucket.available = min(bucket.maximum, bucket.available + requested - actual)
        self.spent += actual
        answer: dict[str, Any] = {}
        if result.errors:
            answer["errors"] = [e.formatted for e in result.errors]
        answer["data"] = data
        answer["extensions"] = {"cost": self._cost(requested, actual)}
        if run.search:
            answer["extensions"]["search"] = run.search
        return answer, recorded(requested, actual, False)

    def _cost(self, requested: int, actual: int | None) -> dict[str, Any]:
        return {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": self._bucket.maximum,
                "currentlyAvailable": int(self._bucket.available),
                "restoreRate": self._bucket.restore_rate,
            },
        }

    def _requested_cost(self, operation: OperationDefinitionNode, variables: dict) -> int:
        if operation.operation == OperationType.MUTATION:
            return MUTATION_COST
        query_type = self._schema.query_type
        assert query_type is not None
        return _selection_cost(self._schema, operation.selection_set, query_type, variables)

    # -- resolvers -----------------------------------------------------------------------------

    def resolve_orders(self, run: _Run, args: dict[str, Any]) -> dict[str, Any]:
        matches = _Search(args.get("query"), ORDER_FIELDS)
        run.search += matches.warnings(["orders"])
        found = [o for o in self._visible_orders() if matches(lambda f, o=o: _order_field(o, f))]
        sort_key = args.get("sortKey")
        if sort_key == "UPDATED_AT":
            found.sort(key=lambda o: (o.last_updated, o.number))
        elif sort_key in ("ID", "CREATED_AT", "PROCESSED_AT"):
            found.sort(key=lambda o: (o.created_at, o.number) if sort_key != "ID" else o.number)
        if args.get("reverse"):
            found.reverse()
        return _connection(run, found, args, self.order_json)

    def resolve_orders_count(self, args: dict[str, Any]) -> dict[str, Any]:
        matches = _Search(args.get("query"), ORDER_FIELDS)
        count = sum(1 for o in self._visible_orders() if matches(lambda f, o=o: _order_field(o, f)))
        limit = args.get("limit")
        if limit is not None and count > limit:
            return {"count": limit, "precision": "AT_LEAST"}
        return {"count": count, "precision": "EXACT"}

    def resolve_variants(self, run: _Run, args: dict[str, Any]) -> dict[str, Any]:
        matches = _Search(args.get("query"), {"sku"})
        found = [v for v in self.variants if matches(lambda f, v=v: v.sku)]
        return _connection(run, found, args, self.variant_json)

    def order_json(self, order: ShopOrder) -> dict[str, Any]:
        money = {"amount": f"{order.total:.2f}", "currencyCode": self.currency}
        return {
            "id": order.gid,
            "name": f"#{order.number}",
            "createdAt": _iso(order.created_at),
            "processedAt": _iso(order.created_at),
            "updatedAt": _iso(order.last_updated),
            "cancelledAt": _iso(order.cancelled_at) if order.cancelled_at else None,
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
            "createdAt": _iso(refund.created_at),
            "updatedAt": _iso(refund.created_at),
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
            "createdAt": _iso(shipment.shipped_at),
            "inTransitAt": _iso(shipment.shipped_at),
            "estimatedDeliveryAt": _iso(shipment.estimated_delivery_at)
            if shipment.estimated_delivery_at
            else None,
            "deliveredAt": _iso(shipment.delivered_at) if shipment.delivered_at else None,
            "trackingInfo": [tracking] if shipment.tracking_number else [],
        }

    def line_item_json(self, order_number: int, index: int, item: tuple[str, int, str]) -> dict:
        sku, quantity, title = item
        variant = self._first_by_sku.get(sku)
        return {
            "id": f"gid://shopify/LineItem/{order_number * 100 + index}",
            "name": title,
            "title": title,
            "quantity": quantity,
            "sku": sku,
            "variant": self.variant_json(variant) if variant else None,
        }

    def variant_json(self, variant: ShopVariant) -> dict[str, Any]:
        return {
            "id": variant.gid,
            "sku": variant.sku,
            "title": variant.title,
            "displayName": f"{variant.product_title} - {variant.title}",
            "inventoryQuantity": sum(variant.available.values()),
            "_metafields": variant.metafields,
            "product": {
                "id": f"gid://shopify/Product/{8_000_000 + variant.number}",
                "title": variant.product_title,
            },
            "inventoryItem": {
                "id": f"gid://shopify/InventoryItem/{6_000_000 + variant.number}",
                "sku": variant.sku,
                "tracked": True,
                "_levels": [
                    {
                        "id": f"gid://shopify/InventoryLevel/{variant.number}{i}",
                        "location": {"id": f"gid://shopify/Location/{i + 1}", "name": name},
                        "_available": quantity,
                    }
                    for i, (name, quantity) in enumerate(variant.available.items())
                ],
            },
        }

    def resolve_node(self, node_id: str) -> dict[str, Any] | None:
        for operation in self._bulk:
            if operation.gid == node_id:
                return self._bulk_json(operation, poll=True)
        for order in self._visible_orders():
            if order.gid == node_id:
                return self.order_json(order)
        return None

    def _visible_orders(self) -> list[ShopOrder]:
        """The orders the token may see: all with ``read_all_orders``, else the last 60 days'."""
        if "read_all_orders" in self.scopes:
            return self.orders
        since = datetime.fromtimestamp(self._clock(), UTC) - ORDERS_WINDOW
        return [order for order in self.orders if order.created_at >= since]

    def resolve_app_installation(self) -> dict[str, Any]:
        return {
            "id": "gid://shopify/AppInstallation/1",
            "accessScopes": [
                {"handle": handle, "description": handle} for handle in sorted(self.scopes)
            ],
        }

    def resolve_current_bulk(self) -> dict[str, Any] | None:
        return self._bulk_json(self._bulk[-1], poll=True) if self._bulk else None

    def run_bulk_query(self, query: str) -> dict[str, Any]:
        running = [b for b in self._bulk if b.status in ("CREATED", "RUNNING")]
        if running:
            message = (
                f"A bulk query operation for this app and shop is already in progress: "
                f"{running[0].gid}."
            )
            return {
                "bulkOperation": None,
                "userErrors": [
                    {"code": "OPERATION_IN_PROGRESS", "field": None, "message": message}
                ],
            }
        try:
            ast = parse(query)
        except GraphQLError as error:
            return _invalid(f"Invalid bulk query: {error.message}")
        problems = validate(self._schema, ast)
        if problems:
            return _invalid(f"Invalid bulk query: {problems[0].message}")
        operation = _BulkOperation(
            number=len(self._bulk) + 1,
            query=query,
            created_at=datetime.fromtimestamp(self._clock(), UTC),
            polls_left=self.bulk_polls,
        )
        self._bulk.append(operation)
        # Shopify runs the query in the background; polls see it RUNNING until it is done.
        threading.Thread(target=self._run_bulk, args=(operation,), daemon=True).start()
        return {"bulkOperation": self._bulk_json(operation, poll=False), "userErrors": []}

    def cancel_bulk(self, gid: str) -> dict[str, Any]:
        for operation in self._bulk:
            if operation.gid == gid and operation.status in ("CREATED", "RUNNING"):
                operation.status = "CANCELED"
                return {"bulkOperation": self._bulk_json(operation, poll=False), "userErrors": []}
        return {
            "bulkOperation": None,
            "userErrors": [{"code": None, "field": ["id"], "message": "Bulk operation not found"}],
        }

    def _run_bulk(self, operation: _BulkOperation) -> None:
        try:
            operation.lines, operation.root_count = self._bulk_lines(operation.query)
        except _BulkInvalid:
            operation.failed = True
        finally:
            operation.ready.set()

    def _bulk_json(self, operation: _BulkOperation, *, poll: bool) -> dict[str, Any]:
        if poll and operation.status in ("CREATED", "RUNNING"):
            if operation.polls_left > 0 or not operation.ready.is_set():
                operation.polls_left = max(0, operation.polls_left - 1)
                operation.status = "RUNNING"
            else:
                operation.status = "FAILED" if operation.failed else "COMPLETED"
                operation.completed_at = datetime.fromtimestamp(self._clock(), UTC)
        done = operation.status == "COMPLETED"
        return {
            "__typename": "BulkOperation",
            "id": operation.gid,
            "status": operation.status,
            "errorCode": "INTERNAL_SERVER_ERROR" if operation.status == "FAILED" else None,
            "createdAt": _iso(operation.created_at),
            "completedAt": _iso(operation.completed_at) if operation.completed_at else None,
            "objectCount": str(len(operation.lines)) if done else "0",
            "rootObjectCount": str(operation.root_count) if done else "0",
            "fileSize": str(sum(len(line) for line in operation.lines)) if done else None,
            "url": f"{self.url}/bulk/{operation.number}.jsonl" if done else None,
            "partialDataUrl": None,
            "query": operation.query,
            "type": "QUERY",
        }

    def _bulk_lines(self, query: str) -> tuple[list[str], int]:
        result = graphql_sync(self._schema, query, context_value=_Run(bulk=True))
        if result.errors or not result.data:
            raise _BulkInvalid(f"Invalid bulk query: {result.errors}")
        lines: list[str] = []
        roots = 0
        for value in result.data.values():
            if not isinstance(value, dict) or "edges" not in value:
                raise _BulkInvalid("Bulk queries must contain at least one connection.")
            for edge in value["edges"]:
                roots += 1
                lines.extend(_flatten(edge["node"], None))
        return lines, roots


ORDER_FIELDS = {
    "created_at",
    "updated_at",
    "financial_status",
    "fulfillment_status",
    "status",
    "email",
    "name",
}


class _BulkInvalid(Exception):
    pass


def _invalid(message: str) -> dict[str, Any]:
    return {
        "bulkOperation": None,
        "userErrors": [{"code": "INVALID", "field": ["query"], "message": message}],
    }


def _flatten(node: dict[str, Any], parent: str | None) -> Iterator[str]:
    """A node and, after it, the nodes of its nested connections with ``__parentId``."""
    own: dict[str, Any] = {}
    nested: list[dict[str, Any]] = []
    for key, value in node.items():
        if isinstance(value, dict) and "edges" in value:
            nested.extend(edge["node"] for edge in value["edges"])
        else:
            own[key] = value
    if parent is not None:
        own["__parentId"] = parent
    yield json.dumps(own, separators=(",", ":")) + "\n"
    for child in nested:
        yield from _flatten(child, node.get("id"))


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


# A value is a quoted string (single or double quotes) or a run of non-whitespace; in either,
# a backslash escapes the next character (https://shopify.dev/docs/api/usage/search-syntax).
_VALUE = r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|(?:[^\s\\]|\\.)+"""
_TERM = re.compile(rf"(\w+):(>=|<=|>|<)?({_VALUE})")


class _Search:
    """Shopify's search syntax, as far as the bot uses it: ``field:value`` terms joined by
    spaces (AND) or ``OR``, with ``>``, ``>=``, ``<``, ``<=`` on times.

    Like Shopify, a term naming a field the resource cannot be searched by is dropped, not
    refused: the rest of the search still runs, and ``extensions.search`` says what was
    dropped (``"Invalid search field for this query."``, code ``invalid_field``)."""

    def __init__(self, text: str | None, fields: set[str]) -> None:
        self.text = text or ""
        self.dropped: list[str] = []
        groups: list[list[tuple[str, str, str]]] = [[]]
        for word in _words(self.text):
            if word in ("AND", "OR"):  # connectives, upper case only; AND is implied
                if word == "OR":
                    groups.append([])
                continue
            term = _TERM.fullmatch(word)
            if term is None:
                raise GraphQLError(f"unsupported search term: {word!r}")
            if term.group(1) not in fields:
                self.dropped.append(term.group(1))
                continue
            groups[-1].append((term.group(1), term.group(2) or "", _unquote(term.group(3))))
        self.groups = [terms for terms in groups if terms]

    def warnings(self, path: list[str]) -> list[dict[str, Any]]:
        if not self.dropped:
            return []
        return [
            {
                "path": path,
                "query": self.text,
                "warnings": [
                    {
                        "field": name,
                        "message": "Invalid search field for this query.",
                        "code": "invalid_field",
                    }
                    for name in self.dropped
                ],
            }
        ]

    def __call__(self, value_of: Callable[[str], Any]) -> bool:
        if not self.groups:
            return True
        return any(
            all(_term_matches(f, value_of(f), op, v) for f, op, v in group) for group in self.groups
        )


def _words(text: str) -> list[str]:
    return [m.group(0) for m in re.finditer(rf"\w+:(?:>=|<=|>|<)?(?:{_VALUE})|\S+", text)]


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return re.sub(r"\\(.)", r"\1", value)


def _term_matches(name: str, actual: Any, op: str, wanted: str) -> bool:
    if isinstance(actual, datetime):
        when = datetime.fromisoformat(wanted.replace("Z", "+00:00"))
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return {
            "": actual == when,
            ">": actual > when,
            ">=": actual >= when,
            "<": actual < when,
            "<=": actual <= when,
        }[op]
    wanted = wanted.lower()
    if actual is None:
        return False
    if wanted == "any":
        return True
    if name == "fulfillment_status":
        return actual in FULFILLMENT_SEARCH.get(wanted, ())
    return str(actual).lower() == wanted


def _connection(
    run: _Run, items: list[Any], args: dict[str, Any], to_json: Callable[[Any], dict]
) -> dict[str, Any]:
    start = 0
    if args.get("after"):
        start = _cursor_index(args["after"]) + 1
    if run.bulk:
        page = items[start:]
    else:
        first = args.get("first")
        if first is None:
            raise GraphQLError("you must provide one of first or last")
        if first > MAX_PAGE:
            raise GraphQLError(f"The first argument cannot exceed {MAX_PAGE}.")
        page = items[start : start + first]
    edges = [{"cursor": _cursor(start + i), "node": to_json(item)} for i, item in enumerate(page)]
    return {
        "edges": edges,
        "nodes": [edge["node"] for edge in edges],
        "pageInfo": {
            "hasNextPage": start + len(page) < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def _cursor(index: int) -> str:
    return base64.b64encode(json.dumps({"last_index": index}).encode()).decode()


def _cursor_index(cursor: str) -> int:
    try:
        return int(json.loads(base64.b64decode(cursor))["last_index"])
    except (ValueError, KeyError, TypeError) as error:
        raise GraphQLError("Invalid cursor for current pagination sort.") from error


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _selection_cost(
    schema: GraphQLSchema, selections: SelectionSetNode | None, parent: Any, variables: dict
) -> int:
    if selections is None:
        return 0
    total = 0
    for selection in selections.selections:
        if isinstance(selection, InlineFragmentNode):
            fragment_type = parent
            if selection.type_condition is not None:
                fragment_type = schema.get_type(selection.type_condition.name.value)
            total += _selection_cost(schema, selection.selection_set, fragment_type, variables)
            continue
        if not isinstance(selection, FieldNode) or not isinstance(parent, GraphQLObjectType):
            continue
        definition = parent.fields.get(selection.name.value)
        if definition is None:
            continue
        child = get_named_type(definition.type)
        if child.name.endswith("Connection") and isinstance(child, GraphQLObjectType):
            size = (
                _argument(selection, "first", variables)
                or _argument(selection, "last", variables)
                or 0
            )
            node_type = get_named_type(child.fields["edges"].type)
            per_node = 0
            for part in selection.selection_set.selections if selection.selection_set else ():
                if isinstance(part, FieldNode) and part.name.value in ("edges", "nodes"):
                    inner = part.selection_set
                    if part.name.value == "edges":
                        node_field = next(
                            (
                                s
                                for s in inner.selections  # type: ignore[union-attr]
                                if isinstance(s, FieldNode) and s.name.value == "node"
                            ),
                            None,
                        )
                        inner = node_field.selection_set if node_field else None
                        node_type = get_named_type(node_type.fields["node"].type)  # type: ignore[union-attr]
                    else:
                        node_type = get_named_type(child.fields["nodes"].type)
                    per_node = max(
                        per_node, 1 + _selection_cost(schema, inner, node_type, variables)
                    )
            total += 2 + int(size) * per_node
        elif isinstance(child, GraphQLObjectType) or hasattr(child, "resolve_type"):
            total += 1 + _selection_cost(schema, selection.selection_set, child, variables)
    return total


def _argument(selection: FieldNode, name: str, variables: dict) -> Any:
    for argument in selection.arguments or ():
        if argument.name.value == name:
            return value_from_ast_untyped(argument.value, variables)
    return None


def _actual_cost(selections: SelectionSetNode | None, data: Any) -> int:
    """Objects 1, connections 2 + their returned nodes, from what was actually returned."""
    if selections is None or not isinstance(data, dict):
        return 0
    total = 0
    for selection in selections.selections:
        if isinstance(selection, InlineFragmentNode):
            total += _actual_cost(selection.selection_set, data)
            continue
        if not isinstance(selection, FieldNode):
            continue
        key = selection.alias.value if selection.alias else selection.name.value
        value = data.get(key)
        if isinstance(value, dict) and ("edges" in value or "nodes" in value):
            total += 2
            for part in selection.selection_set.selections:  # type: ignore[union-attr]
                if not isinstance(part, FieldNode):
                    continue
                if part.name.value == "edges":
                    node_field = next(
                        (
                            s
                            for s in part.selection_set.selections  # type: ignore[union-attr]
                            if isinstance(s, FieldNode) and s.name.value == "node"
                        ),
                        None,
                    )
                    for edge in value.get("edges") or ():
                        total += 1 + _actual_cost(
                            node_field.selection_set if node_field else None, edge.get("node")
                        )
                elif part.name.value == "nodes":
                    for node in value.get("nodes") or ():
                        total += 1 + _actual_cost(part.selection_set, node)
        elif isinstance(value, dict):
            total += 1 + _actual_cost(selection.selection_set, value)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            total += sum(1 + _actual_cost(selection.selection_set, item) for item in value)
    return total


def _schema(standin: ShopifyStandin) -> GraphQLSchema:
    schema = build_schema(SCHEMA)

    def resolver(type_name: str, field_name: str, resolve: Callable[..., Any]) -> None:
        graphql_type = schema.get_type(type_name)
        assert isinstance(graphql_type, GraphQLObjectType)
        graphql_type.fields[field_name].resolve = resolve

    resolver(
        "Query",
        "shop",
        lambda _root, _info: {
            "id": "gid://shopify/Shop/1",
            "name": "OCC Stand-in Shop",
            "myshopifyDomain": "occ-standin.myshopify.com",
            "ianaTimezone": standin.timezone,
            "currencyCode": standin.currency,
        },
    )
    resolver(
        "Query", "orders", lambda _root, info, **args: standin.resolve_orders(info.context, args)
    )
    resolver(
        "Query", "ordersCount", lambda _root, _info, **args: standin.resolve_orders_count(args)
    )
    resolver(
        "Query",
        "productVariants",
        lambda _root, info, **args: standin.resolve_variants(info.context, args),
    )
    resolver("Query", "node", lambda _root, _info, id: standin.resolve_node(id))
    resolver(
        "Query",
        "currentAppInstallation",
        lambda _root, _info: standin.resolve_app_installation(),
    )
    resolver(
        "Query",
        "currentBulkOperation",
        lambda _root, _info, **_args: standin.resolve_current_bulk(),
    )
    resolver(
        "Mutation",
        "bulkOperationCancel",
        lambda _root, _info, id: standin.cancel_bulk(id),
    )
    resolver(
        "Mutation",
        "bulkOperationRunQuery",
        lambda _root, _info, query, **_args: standin.run_bulk_query(query),
    )
    resolver(
        "Order",
        "lineItems",
        lambda order, info, **args: _connection(
            info.context,
            list(enumerate(order["_lineItems"])),
            args,
            lambda pair: standin.line_item_json(order["_number"], pair[0], pair[1]),
        ),
    )
    resolver(
        "Order",
        "refunds",
        lambda order, _info, first=None: order["_refunds"][:first],
    )
    resolver(
        "InventoryItem",
        "inventoryLevels",
        lambda item, info, **args: _connection(
            info.context,
            item["_levels"],
            args,
            lambda level: level,
        ),
    )
    resolver(
        "InventoryLevel",
        "quantities",
        lambda level, _info, names: [
            {
                "id": f"{level['id']}/{name}",
                "name": name,
                "quantity": level["_available"] if name in ("available", "on_hand") else 0,
            }
            for name in names
        ],
    )
    resolver(
        "ProductVariant",
        "metafield",
        lambda variant, _info, key, namespace=None: (
            None
            if (namespace, key) not in variant["_metafields"]
            else {
                "id": f"gid://shopify/Metafield/{abs(hash((variant['id'], key))) % 10**9}",
                "namespace": namespace,
                "key": key,
                "type": "number_integer",
                "value": variant["_metafields"][namespace, key],
            }
        ),
    )
    node = schema.get_type("Node")
    node.resolve_type = lambda value, _info, _type: (  # type: ignore[union-attr]
        value.get("__typename") or ("Order" if "/Order/" in value["id"] else "BulkOperation")
    )
    return schema
