"""The Shopify stand-in's bulk query operations: ``bulkOperationRunQuery`` runs the query in
the background, ``node`` / ``currentBulkOperation`` polls see it RUNNING until it completes,
``bulkOperationCancel`` cancels it, and its results are a JSONL file, nested nodes after
their parent with ``__parentId``: right below it when the query asked ``groupObjects: true``,
else (the default since API version 2026-01) further down, after the chunk of parents it
belongs to (shopify.dev/changelog/bulk-operations-group-objects-default-changed-to-false).

The file is written to disk a chunk of `CHUNK` top nodes at a time and served from there in
chunks, so a shop of a million orders holds no more than a chunk's results in memory."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLError, GraphQLSchema, execute_sync, parse, validate
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

from bot.demo.standins.shopify.connections import Run
from bot.demo.standins.shopify.model import iso

CHUNK = 2000  # top nodes (orders) resolved and written at a time


@dataclass
class _BulkOperation:
    number: int
    query: str
    created_at: datetime
    polls_left: int
    group_objects: bool = False
    path: str | None = None  # the result file, once written
    object_count: int = 0
    file_size: int = 0
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
    _bulk_folder: str | None = None
    _bulk_stopping = False
    bulk_file_cut: int | None = None
    """Serve result files cut after this many bytes, as a file written short would be."""

    async def _bulk_file(self, request: Request) -> Response:
        number = request.path_params["number"]
        for operation in self._bulk:
            if operation.number == number and operation.status == "COMPLETED":
                assert operation.path is not None
                if self.bulk_file_cut is not None:
                    with open(operation.path, "rb") as file:
                        short = file.read(self.bulk_file_cut)
                    return Response(short, media_type="application/jsonl")
                return FileResponse(operation.path, media_type="application/jsonl")
        return PlainTextResponse("NoSuchKey", status_code=404)

    def remove_bulk_files(self) -> None:
        """On stop: end the operations still writing (within a chunk), then their files."""
        self._bulk_stopping = True
        for operation in self._bulk:
            operation.ready.wait(30)
        for operation in self._bulk:
            if operation.path is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(operation.path)
        if self._bulk_folder is not None:
            with contextlib.suppress(OSError):
                os.rmdir(self._bulk_folder)
            self._bulk_folder = None
        self._bulk_stopping = False  # a stand-in started again runs bulk queries again

    def resolve_current_bulk(self) -> dict[str, Any] | None:
        return self._bulk_json(self._bulk[-1], poll=True) if self._bulk else None

    def run_bulk_query(self, query: str, *, group_objects: bool = False) -> dict[str, Any]:
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
            group_objects=group_objects,
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
        if self._bulk_folder is None:
            self._bulk_folder = tempfile.mkdtemp(prefix="shopify-standin-bulk-")
        path = os.path.join(self._bulk_folder, f"{operation.number}.jsonl")
        try:
            with open(path, "w", encoding="utf-8") as file:
                for line in self._bulk_lines(operation):
                    file.write(line)
                    operation.object_count += 1
                    operation.file_size += len(line.encode())
        except _BulkInvalid:
            operation.failed = True
        finally:
            operation.path = path  # written or not, so that stopping removes it
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
            "objectCount": str(operation.object_count) if done else "0",
            "rootObjectCount": str(operation.root_count) if done else "0",
            "fileSize": str(operation.file_size) if done else None,
            "url": f"{self.url}/bulk/{operation.number}.jsonl" if done else None,
            "partialDataUrl": None,
            "query": operation.query,
            "type": "QUERY",
        }

    def _bulk_lines(self, operation: _BulkOperation) -> Iterator[str]:
        """The result file's lines, a chunk of `CHUNK` top nodes at a time."""
        run = Run(bulk=True)
        document = parse(operation.query)
        start = 0
        while not self._bulk_stopping:
            run.chunk = slice(start, start + CHUNK)
            result = execute_sync(self._schema, document, context_value=run)
            if result.errors or not result.data:
                raise _BulkInvalid(f"Invalid bulk query: {result.errors}")
            longest = 0
            for value in result.data.values():
                if not isinstance(value, dict) or "edges" not in value:
                    raise _BulkInvalid("Bulk queries must contain at least one connection.")
                nodes = [edge["node"] for edge in value["edges"]]
                operation.root_count += len(nodes)
                longest = max(longest, len(nodes))
                if operation.group_objects:
                    for node in nodes:
                        yield from _flatten(node, None)
                else:  # each node, then the nested nodes of the whole chunk
                    nested = [list(_flatten(node, None)) for node in nodes]
                    yield from (lines[0] for lines in nested)
                    yield from (line for lines in nested for line in lines[1:])
            if longest < CHUNK:
                return
            start += CHUNK


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
