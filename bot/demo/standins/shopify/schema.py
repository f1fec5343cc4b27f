"""The subset of Shopify's Admin GraphQL schema the Shopify stand-in serves (`SCHEMA`), and
which of its methods answers each field (`shop_schema`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from graphql import GraphQLObjectType, GraphQLSchema, build_schema

from bot.demo.standins.shopify.connections import Run, connection

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


class Resolvers(Protocol):
    """What answers the schema's fields: `ShopifyStandin`."""

    timezone: str
    currency: str

    def resolve_orders(self, run: Run, args: dict[str, Any]) -> dict[str, Any]: ...
    def resolve_orders_count(self, args: dict[str, Any]) -> dict[str, Any]: ...
    def resolve_variants(self, run: Run, args: dict[str, Any]) -> dict[str, Any]: ...
    def resolve_node(self, node_id: str) -> dict[str, Any] | None: ...
    def resolve_app_installation(self) -> dict[str, Any]: ...
    def resolve_current_bulk(self) -> dict[str, Any] | None: ...
    def cancel_bulk(self, gid: str) -> dict[str, Any]: ...
    def run_bulk_query(self, query: str, *, group_objects: bool = False) -> dict[str, Any]: ...
    def line_item_json(self, order_number: int, index: int, item: tuple[str, int, str]) -> dict: ...


def shop_schema(standin: Resolvers) -> GraphQLSchema:
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
        lambda _root, _info, query, groupObjects=False, **_args: standin.run_bulk_query(
            query, group_objects=bool(groupObjects)
        ),
    )
    resolver(
        "Order",
        "lineItems",
        lambda order, info, **args: connection(
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
        lambda item, info, **args: connection(
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
