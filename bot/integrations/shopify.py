"""Shopify Admin GraphQL client: queries within the cost-based throttle, and cursor paging.

Every request goes to ``/admin/api/{API_VERSION}/graphql.json`` with the
``X-Shopify-Access-Token`` header. Shopify meters each query in cost points from a bucket that
refills at ``restoreRate`` points a second; every answer reports the bucket in
``extensions.cost.throttleStatus``. The client keeps the last report and, before a query,
waits until the bucket holds the query's expected cost, so it never spends faster than the
restore rate. A ``THROTTLED`` answer (found by ``errors[].extensions.code`` or the message
"Throttled", since its HTTP status varies) is waited out and retried, a bounded number of
times. Failures surface as typed exceptions:

    ShopifyError                  base: .transient, .status
    ├── ShopifyUnavailable        transient: cannot connect, HTTP 5xx
    │   └── ShopifyThrottled      still THROTTLED after waiting as told
    ├── ShopifyTimeout            transient: no answer in time
    └── ShopifyRejected           permanent: HTTP 4xx (401 token, 404 shop), GraphQL errors,
                                  an answer that is not Shopify's
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

API_VERSION = "2026-10"  # a stable quarterly version, supported for a year after release
THROTTLE_RETRIES = 5
MAX_WAIT_SECONDS = 60.0  # longest wait for the bucket before calling it a persisting limit
DEFAULT_COST = 50.0  # expected cost before a query has been seen once
MAX_PAGES = 1000  # 250 per page: Shopify stops paging at 25,000 objects anyway


class ShopifyError(Exception):
    transient: bool = False

    def __init__(self, detail: str, *, status: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


class ShopifyUnavailable(ShopifyError):
    transient = True


class ShopifyThrottled(ShopifyUnavailable):
    """Still THROTTLED after waiting for the bucket as told: the rate limit persists."""


class ShopifyTimeout(ShopifyError):
    transient = True


class ShopifyRejected(ShopifyError):
    pass


@dataclass
class Bucket:
    """The cost bucket as Shopify last reported it, and when (monotonic seconds)."""

    available: float
    maximum: float
    restore_rate: float
    at: float

    def available_now(self, now: float) -> float:
        return min(self.maximum, self.available + (now - self.at) * self.restore_rate)

    def wait_for(self, cost: float, now: float) -> float:
        """Seconds until the bucket holds ``cost`` points (0 if it does now)."""
        missing = min(cost, self.maximum) - self.available_now(now)
        return max(0.0, missing / self.restore_rate) if self.restore_rate > 0 else 0.0


def quoted(value: str) -> str:
    """``value`` as one quoted value of Shopify's search syntax: inside double quotes, a
    backslash escapes a backslash or a double quote (docs/real-services.md, 15)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def base_url(shop: str) -> str:
    """``store.myshopify.com`` → ``https://store.myshopify.com``; a full URL stays as given."""
    shop = shop.strip().rstrip("/")
    return shop if shop.startswith(("http://", "https://")) else f"https://{shop}"


ACCESS_SCOPES = "{ currentAppInstallation { accessScopes { handle } } }"
ALL_ORDERS = "read_all_orders"


class ShopifyClient:
    def __init__(
        self,
        shop: str,
        token: str,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = f"{base_url(shop)}/admin/api/{API_VERSION}/graphql.json"
        self._http = httpx.AsyncClient(
            headers={"X-Shopify-Access-Token": token, "Content-Type": "application/json"},
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )
        self._files: httpx.AsyncClient | None = None  # for the bulk result files (`lines`)
        self._sleep = sleep
        self._clock = clock
        self.bucket: Bucket | None = None
        self.costs: dict[str, float] = {}  # a query's last actual cost, by its text
        self.points_spent = 0.0
        self.requests = 0
        self.served_version: str | None = None  # X-Shopify-API-Version of the last answer
        self._scopes: frozenset[str] | None = None

    async def access_scopes(self) -> frozenset[str]:
        """The token's access scopes, asked once per client."""
        if self._scopes is None:
            data = await self.query(ACCESS_SCOPES)
            found = ((data.get("currentAppInstallation") or {}).get("accessScopes")) or []
            self._scopes = frozenset(str(s.get("handle")) for s in found if isinstance(s, dict))
        return self._scopes

    async def sees_all_orders(self) -> bool:
        """Whether the token has ``read_all_orders``: without it Shopify shows only the
        last 60 days of orders, and an older order is simply not found."""
        return ALL_ORDERS in await self.access_scopes()

    async def aclose(self) -> None:
        await self._http.aclose()
        if self._files is not None:
            await self._files.aclose()

    async def query(self, document: str, variables: Mapping[str, Any] | None = None) -> Any:
        """The ``data`` of one query, within the throttle."""
        for _ in range(THROTTLE_RETRIES + 1):
            await self._wait_for_points(self.costs.get(document, DEFAULT_COST))
            body = await self._post(document, variables)
            cost = _cost(body)
            self._note(cost)
            if _throttled(body):
                requested = cost.get("requestedQueryCost") if cost else None
                self.costs[document] = float(requested or DEFAULT_COST)
                continue
            if cost and isinstance(cost.get("actualQueryCost"), int | float):
                self.costs[document] = float(cost["requestedQueryCost"] or cost["actualQueryCost"])
                self.points_spent += float(cost["actualQueryCost"])
            errors = body.get("errors")
            if errors:
                raise ShopifyRejected(f"GraphQL errors: {_messages(errors)}")
            if "data" not in body:
                raise ShopifyRejected("the answer has no data")
            return body["data"]
        raise ShopifyThrottled(f"still throttled after {THROTTLE_RETRIES} waits")

    async def nodes(
        self,
        document: str,
        connection: str,
        variables: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Every node of the connection at ``data.<connection>``, page by page (the query
        takes ``$after`` and asks for ``pageInfo { hasNextPage endCursor }``)."""
        after = None
        for _ in range(MAX_PAGES):
            data = await self.query(document, {**(variables or {}), "after": after})
            page = data.get(connection) if isinstance(data, dict) else None
            if not isinstance(page, dict):
                raise ShopifyRejected(f"the answer has no {connection} connection")
            for edge in page.get("edges") or []:
                if isinstance(edge, dict) and isinstance(edge.get("node"), dict):
                    yield edge["node"]
            info = page.get("pageInfo") or {}
            if not info.get("hasNextPage") or not info.get("endCursor"):
                return
            after = info["endCursor"]

    async def lines(self, url: str) -> AsyncIterator[str]:
        """The lines of a bulk operation's result file. Its URL is signed and on another host,
        so the request carries no access token. Its client is kept for the next run's file:
        making one (its TLS context) costs a scheduled run about 20 ms of CPU."""
        self.requests += 1
        if self._files is None:
            self._files = httpx.AsyncClient(timeout=self._http.timeout)
        try:
            async with self._files.stream("GET", url) as response:
                if response.status_code >= 300:
                    raise ShopifyUnavailable(
                        f"bulk result file answered {response.status_code}",
                        status=response.status_code,
                    )
                async for line in response.aiter_lines():
                    yield line
        except httpx.TimeoutException as error:
            raise ShopifyTimeout(f"bulk result file: no answer in time: {error!r}") from error
        except httpx.TransportError as error:
            raise ShopifyUnavailable(f"cannot fetch the bulk result file: {error!r}") from error

    async def _wait_for_points(self, cost: float) -> None:
        if self.bucket is None:
            return
        wait = self.bucket.wait_for(cost, self._clock())
        if wait > MAX_WAIT_SECONDS:  # a bucket this slow is a rate limit that persists
            raise ShopifyThrottled(
                f"the cost bucket needs {wait:.0f} s to hold {cost:g} points "
                f"(restore rate {self.bucket.restore_rate:g}/s)"
            )
        if wait > 0:
            await self._sleep(wait)

    def _note(self, cost: Mapping[str, Any] | None) -> None:
        status = (cost or {}).get("throttleStatus")
        if not isinstance(status, dict):
            return
        try:
            self.bucket = Bucket(
                available=float(status["currentlyAvailable"]),
                maximum=float(status["maximumAvailable"]),
                restore_rate=float(status["restoreRate"]),
                at=self._clock(),
            )
        except (KeyError, TypeError, ValueError):
            return

    async def _post(self, document: str, variables: Mapping[str, Any] | None) -> dict[str, Any]:
        self.requests += 1
        try:
            response = await self._http.post(
                self.url, json={"query": document, "variables": dict(variables or {})}
            )
        except httpx.TimeoutException as error:
            raise ShopifyTimeout(f"no answer from Shopify in time: {error!r}") from error
        except httpx.TransportError as error:
            raise ShopifyUnavailable(f"cannot reach Shopify: {error!r}") from error
        self.served_version = response.headers.get("X-Shopify-API-Version", self.served_version)
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and _throttled(body):
            return body  # a throttled answer may come with HTTP 429 or 200
        if response.status_code >= 500 or response.status_code == 429:
            raise ShopifyUnavailable(
                f"Shopify answered {response.status_code}", status=response.status_code
            )
        if response.status_code >= 300:
            raise ShopifyRejected(
                f"Shopify answered {response.status_code}", status=response.status_code
            )
        if not isinstance(body, dict):
            raise ShopifyRejected("the answer is not a JSON object")
        return body


def _cost(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    extensions = body.get("extensions")
    cost = extensions.get("cost") if isinstance(extensions, dict) else None
    return cost if isinstance(cost, dict) else None


def _throttled(body: Mapping[str, Any]) -> bool:
    for error in body.get("errors") or []:
        if not isinstance(error, dict):
            continue
        code = (error.get("extensions") or {}).get("code")
        if code == "THROTTLED" or error.get("message") == "Throttled":
            return True
    return False


def _messages(errors: Any) -> str:
    if not isinstance(errors, list):
        return str(errors)[:200]
    found = [str(e.get("message")) for e in errors if isinstance(e, dict)]
    return "; ".join(found)[:300] or "unknown"
