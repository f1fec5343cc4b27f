"""Request bodies read safely: bounded in size, and JSON parsed strictly.

`json.loads` accepts more than the routes can store or answer to, and fails in more ways than
JSONDecodeError: a number of over 4,300 digits raises a plain ValueError, deep nesting a
RecursionError, and it happily returns NaN, Infinity (also for 1e400) and strings holding
lone surrogates ("\\ud800"), which PostgreSQL, SQLite and UTF-8 encoders then refuse. `loads`
turns all of these into `InvalidJson`, so a route answers 400.
"""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import Request

MAX_BODY_BYTES = 1_000_000
MAX_DEPTH = 64  # Slack's and Chatwoot's payloads nest about 10 deep


class BodyTooLarge(Exception):
    """The body is larger than the route accepts (answer 413)."""


class InvalidJson(ValueError):
    """Not UTF-8, not JSON, or JSON that nothing downstream can hold (answer 400)."""


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole body, or BodyTooLarge as soon as it passes `limit` (nothing more is read)."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and (len(declared) > 12 or int(declared) > limit):
        raise BodyTooLarge(f"body: larger than {limit} bytes")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"body: larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def loads(data: bytes | str) -> Any:
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise InvalidJson("body: not UTF-8") from None
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise InvalidJson(f"body: nested deeper than {MAX_DEPTH}") from None
    except ValueError as error:  # JSONDecodeError, and numbers of more than 4,300 digits
        raise InvalidJson(f"body: not valid JSON ({str(error)[:80]})") from None
    _check_values(value)
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _check_values(value: Any) -> None:
    """Depth, finite numbers and encodable strings, walked without recursion."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _encodable(item)
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise InvalidJson("body: a number is out of range")
        elif isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise InvalidJson(f"body: nested deeper than {MAX_DEPTH}")
            if isinstance(item, dict):
                for key in item:
                    _encodable(key)
                stack.extend((child, depth + 1) for child in item.values())
            else:
                stack.extend((child, depth + 1) for child in item)


def _encodable(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidJson("body: a string holds a lone surrogate") from None
