"""`ShopifyStandin`: the Shopify stand-in's server. It answers
``/admin/api/<version>/graphql.json`` for its one token (and serves bulk results), resolves
``node`` and ``currentAppInstallation``, and can be taken down.

Outages: :meth:`down` answers every request with one status, :meth:`hang` holds requests;
:meth:`up` ends both.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from bot.demo.standins.server import Standin
from bot.demo.standins.shopify.bulk import Bulk
from bot.demo.standins.shopify.metering import Bucket, Metering
from bot.demo.standins.shopify.model import Recorded
from bot.demo.standins.shopify.orders import DEFAULT_SCOPES, Orders
from bot.demo.standins.shopify.products import Products
from bot.demo.standins.shopify.schema import shop_schema

DEFAULT_TOKEN = "shpat_occ_standin"


class ShopifyStandin(Orders, Products, Bulk, Metering, Standin):
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
        self._bucket = Bucket(maximum, restore_rate, maximum, monotonic())
        self._schema = shop_schema(self)
        self.orders = []
        self.variants = []
        self._first_by_sku = {}
        self._bulk = []
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
        self.remove_bulk_files()

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

    def resolve_node(self, node_id: str) -> dict[str, Any] | None:
        for operation in self._bulk:
            if operation.gid == node_id:
                return self._bulk_json(operation, poll=True)
        for order in self._visible_orders():
            if order.gid == node_id:
                return self.order_json(order)
        return None

    def resolve_app_installation(self) -> dict[str, Any]:
        return {
            "id": "gid://shopify/AppInstallation/1",
            "accessScopes": [
                {"handle": handle, "description": handle} for handle in sorted(self.scopes)
            ],
        }
