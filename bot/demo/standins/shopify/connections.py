"""Connections as the Shopify stand-in pages them (``first`` / ``after``, opaque cursors, at
most `MAX_PAGE` a page), and `Run`, the state one execution's resolvers share."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError

MAX_PAGE = 250


@dataclass
class Run:
    """Per-execution state: bulk mode ignores ``first`` and returns every node, a chunk of
    the top connection's nodes an execution (``chunk``) when the file is written in chunks."""

    bulk: bool = False
    chunk: slice | None = None
    roots: dict[str, list[Any]] = field(default_factory=dict)  # found once, for every chunk
    errors: list[str] = field(default_factory=list)
    # extensions.search: the terms Shopify dropped from each search, and why
    search: list[dict[str, Any]] = field(default_factory=list)


def root_connection(
    run: Run,
    name: str,
    find: Callable[[], list[Any]],
    args: dict[str, Any],
    to_json: Callable[[Any], dict],
) -> dict[str, Any]:
    """A query's top connection ``name``: in a bulk run written in chunks, its nodes are found
    once and each execution returns its chunk of them."""
    if not run.bulk or run.chunk is None:
        return connection(run, find(), args, to_json)
    if name not in run.roots:
        run.roots[name] = find()
    return connection(run, run.roots[name][run.chunk], args, to_json)


def connection(
    run: Run, items: list[Any], args: dict[str, Any], to_json: Callable[[Any], dict]
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
