"""Shopify's search syntax (``query:`` of ``orders``, ``ordersCount``, ``productVariants``) as
the Shopify stand-in understands it. A field the resource cannot be searched by is dropped
and reported, as Shopify does (`Search`); a term that is not ``field:value`` at all is an
error, so a malformed query from the bot cannot go unnoticed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLError

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


# A value is a quoted string (single or double quotes) or a run of non-whitespace; in either,
# a backslash escapes the next character (https://shopify.dev/docs/api/usage/search-syntax).
_VALUE = r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|(?:[^\s\\]|\\.)+"""
_TERM = re.compile(rf"(\w+):(>=|<=|>|<)?({_VALUE})")


class Search:
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
