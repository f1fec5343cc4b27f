"""Request bodies read safely: bounded in size, and JSON parsed strictly.

`json.loads` accepts more than the routes can store or answer to, and fails in more ways than
JSONDecodeError: a number of over 4,300 digits raises a plain ValueError, deep nesting a
RecursionError, and it happily returns NaN, Infinity (also for 1e400) and strings holding
lone surrogates ("\\ud800"), which PostgreSQL, SQLite and UTF-8 encoders then refuse. `loads`
turns all of these into `InvalidJson`, so a route answers 400.

Every Slack click passes through here, so the checks that need a walk over the parsed value
only run when the text could hold what they look for: more brackets than MAX_DEPTH, or a
`\\uD800`-`\\uDFFF` escape or a surrogate in the text itself.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request

MAX_BODY_BYTES = 1_000_000
MAX_DEPTH = 64  # Slack's and Chatwoot's payloads nest about 10 deep
_LONE_SURROGATE = "body: a string holds a lone surrogate"
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


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
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        raise InvalidJson(f"body: nested deeper than {MAX_DEPTH}") from None
    except InvalidJson:
        raise
    except ValueError as error:  # JSONDecodeError, and numbers of more than 4,300 digits
        raise InvalidJson(f"body: not valid JSON ({str(error)[:80]})") from None
    deep = text.count("{") + text.count("[") > MAX_DEPTH
    surrogates = _SURROGATE_ESCAPE.search(text) is not None or not _encodes(text)
    if deep or surrogates:
        _check_values(value, strings=surrogates)
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e400
        raise InvalidJson("body: a number is out of range")
    return number


def _check_values(value: Any, *, strings: bool) -> None:
    """Depth, and (when `strings`) encodable strings, walked without recursion."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if strings and not _encodes(item):
                raise InvalidJson(_LONE_SURROGATE)
        elif isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise InvalidJson(f"body: nested deeper than {MAX_DEPTH}")
            if isinstance(item, dict):
                if strings and not all(_encodes(key) for key in item):
                    raise InvalidJson(_LONE_SURROGATE)
                stack.extend((child, depth + 1) for child in item.values())
            else:
                stack.extend((child, depth + 1) for child in item)


def _encodes(text: str) -> bool:
    """False when the str holds a lone surrogate (UTF-8 cannot encode it)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_form(text: str) -> list[tuple[str, str]]:
    """An application/x-www-form-urlencoded body as `parse_qsl(text, keep_blank_values=True)`
    reads it, about eight times faster (urllib decodes percent-escapes in Python, one at a
    time, and a Slack payload is mostly escapes: every click pays for it)."""
    pairs = []
    for field in text.split("&"):
        if field:
            name, _, value = field.partition("=")
            pairs.append((_unquote_plus(name), _unquote_plus(value)))
    return pairs


def _unquote_plus(text: str) -> str:
    spaced = text.replace("+", " ")
    if "%" not in spaced:
        return spaced
    # %XX becomes \xXX for the C escape decoder (backslashes already there are doubled so
    # they stay literal). A malformed escape, or bytes that are not UTF-8, go the slow way,
    # which keeps them as urllib does.
    try:
        escaped = spaced.encode("utf-8").replace(b"\\", b"\\\\").replace(b"%", b"\\x")
        return codecs.escape_decode(escaped)[0].decode("utf-8")
    except ValueError:  # UnicodeError included
        return unquote(spaced)
