"""A Shopify Admin GraphQL API on 127.0.0.1 for tests, benchmarks and `occ-bot demo`: a seeded
shop, metered.

It executes real GraphQL (``graphql-core``) against a subset of the Admin schema
(`SCHEMA`): ``shop``, ``orders`` / ``ordersCount`` with Shopify's search syntax (``created_at``,
``updated_at``, ``financial_status``, ``fulfillment_status``, ``status``, ``email``, ``name``)
and orders' fulfillments with tracking and refunds, ``productVariants``
(``sku``) with inventory levels, ``node``, and bulk query operations
(``bulkOperationRunQuery``, polled through ``node``, results as JSONL with ``__parentId``).

Layout: `standin` is the server (`ShopifyStandin`: routes, the token, outages); `schema` the
Admin schema's subset and which method answers each field; `metering` answers a document
within Shopify's cost bucket; `orders`, `products` and `bulk` are the resolvers and seeding
of their resources, `search` Shopify's search syntax, `connections` paging, and `model` the
shop's records.
"""

# graphql-core is a dev dependency: without it importing this package must fail, even when its
# modules were imported before, so that the demo runs without its shop (bot/demo/rehearsal.py).
import graphql  # noqa: F401

from bot.demo.standins.shopify.model import ShopOrder, ShopShipment
from bot.demo.standins.shopify.orders import DEFAULT_SCOPES
from bot.demo.standins.shopify.standin import DEFAULT_TOKEN, ShopifyStandin

__all__ = ["DEFAULT_SCOPES", "DEFAULT_TOKEN", "ShopOrder", "ShopShipment", "ShopifyStandin"]
