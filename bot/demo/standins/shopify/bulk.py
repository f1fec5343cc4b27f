"""The Shopify stand-in's bulk query operations: ``bulkOperationRunQuery`` runs the query in
the background, ``node`` / ``currentBulkOperation`` polls see it RUNNING until it completes,
``bulkOperationCancel`` cancels it, and its results are a JSONL file, nested nodes after
their parent with ``__parentId``."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLError, GraphQLSchema, graphql_sync, parse, validate
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.demo.standins.shopify.connections import Run
from bot.demo.standins.shopify.model import iso


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


class Bulk:
    """Bulk query operations (set up by `ShopifyStandin`)."""

    url: str  # the server's root URL (`Standin.url`)
    bulk_polls: int
    _schema: GraphQLSchema
    _clock: Callable[[], float]
    _bulk: list[_BulkOperation]

    async def _bulk_file(self, request: Request) -> Response:
        number = request.path_params["number"]
        for operation in self._bulk:
            if operation.number == number and operation.status == "COMPLETED":
                return PlainTextResponse("".join(operation.lines), media_type="application/jsonl")
        return PlainTextResponse("NoSuchKey", status_code=404)

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
            "createdAt": iso(operation.created_at),
            "completedAt": iso(operation.completed_at) if operation.completed_at else None,
            "objectCount": str(len(operation.lines)) if done else "0",
            "rootObjectCount": str(operation.root_count) if done else "0",
            "fileSize": str(sum(len(line) for line in operation.lines)) if done else None,
            "url": f"{self.url}/bulk/{operation.number}.jsonl" if done else None,
            "partialDataUrl": None,
            "query": operation.query,
            "type": "QUERY",
        }

    def _bulk_lines(self, query: str) -> tuple[list[str], int]:
        result = graphql_sync(self._schema, query, context_value=Run(bulk=True))
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
