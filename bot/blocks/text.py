"""Text for Block Kit: escaping, visible truncation, quoting, Slack tokens and the text budget.

Everything a customer or operator typed goes through :func:`escape` (or a helper built on it)
before it enters mrkdwn, so ``<!channel>`` or ``<http://evil|bank>`` show as typed and never
ping or link. Every cut ends in a visible "…" and stays within the limit given.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

ELLIPSIS = "…"

# Block Kit limits (see fixtures/real/SOURCES.md, "Block Kit limits").
SECTION_TEXT_MAX = 3000
FIELD_TEXT_MAX = 2000
FIELDS_MAX = 10
HEADER_TEXT_MAX = 150
CONTEXT_TEXT_MAX = 2000
CONTEXT_ELEMENTS_MAX = 10
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
OPTION_TEXT_MAX = 75
LABEL_MAX = 2000
PLACEHOLDER_MAX = 150
INPUT_MAX = 3000
MODAL_TITLE_MAX = 24
PRIVATE_METADATA_MAX = 3000
MESSAGE_BLOCKS_MAX = 50
MODAL_BLOCKS_MAX = 100
# Slack refuses messages whose blocks hold much more text than this, whatever each field says.
MESSAGE_TEXT_BUDGET = 12_000

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SAFE_URL = re.compile(r"^https?://[^\s<>|]+$")


def escape(text: str) -> str:
    """Escape Slack's three control characters so text shows as typed in mrkdwn."""
    return text.translate(_ESCAPES)


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters, ending in a visible "…" when cut."""
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    return text[: limit - 1].rstrip() + ELLIPSIS


def _cut_escaped(escaped: str, limit: int) -> str:
    """Like :func:`truncate`, for escaped text: never leaves half an ``&amp;`` behind."""
    if len(escaped) <= limit:
        return escaped
    if limit <= 0:
        return ""
    cut = escaped[: limit - 1]
    amp = cut.rfind("&", max(0, len(cut) - 4))
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut.rstrip() + ELLIPSIS


def _normalize(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def safe(text: str, limit: int) -> str:
    """Untrusted text for mrkdwn: escaped, then cut to ``limit`` with a visible "…"."""
    return _cut_escaped(escape(_normalize(text)), limit)


def inline(text: str, limit: int) -> str:
    """Untrusted text for one line of mrkdwn (names, titles): newlines become spaces."""
    return safe(" ".join(_normalize(text).split()), limit)


def quote(text: str, limit: int) -> str:
    """Untrusted multi-line text as a mrkdwn block quote (``> `` per line), within ``limit``."""
    lines = escape(_normalize(text).strip("\n")).split("\n")
    return _cut_escaped("\n".join(f"> {line}" for line in lines), limit)


def mention(user_id: str) -> str:
    """A Slack mention ``<@U…>``; anything that is not a user id (e.g. ``system``) stays text."""
    if _USER_ID.match(user_id):
        return f"<@{user_id}>"
    return inline(user_id, 100)


def slack_date(when: datetime, fmt: str = "{date_short_pretty} at {time}") -> str:
    """Slack date token shown in the reader's time zone, with a UTC fallback."""
    utc = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    fallback = utc.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{math.floor(utc.timestamp())}^{fmt}|{fallback}>"


def link(url: str | None, label: str, limit: int = 200, *, url_max: int = 500) -> str:
    """A mrkdwn link to an http(s) URL; an unusable or overlong URL leaves just the label."""
    text = inline(label, limit)
    if url and len(url) <= url_max and _SAFE_URL.match(url):
        return f"<{escape(url)}|{text}>"
    return text


def percent(fraction: float) -> str:
    """0.956 -> "95%": rounded down, so a shown 90% is never below the High band."""
    return f"{math.floor(round(fraction * 100, 6))}%"


def money(usd: float) -> str:
    return f"${usd:,.2f}"


def format_minutes(minutes: float) -> str:
    """15 -> "15 min", 60 -> "1 h", 90 -> "1.5 h", 0.5 -> "30 s"."""
    if minutes < 1:
        return f"{round(minutes * 60):g} s"
    if minutes >= 60:
        return f"{round(minutes / 60, 2):g} h"
    return f"{round(minutes, 2):g} min"


def lateness(minutes: float) -> str:
    """How far past a deadline: "at its deadline" within the first minute, else "12 min past
    its deadline"."""
    if minutes < 1:
        return "at its deadline"
    return f"{format_minutes(minutes)} past its deadline"


def share_budget(total: int, wants: Sequence[int]) -> list[int]:
    """Split ``total`` characters fairly: small wants are met in full, big ones share the rest."""
    grants = [0] * len(wants)
    remaining = max(0, total)
    order = sorted(range(len(wants)), key=lambda i: wants[i])
    for done, i in enumerate(order):
        share = remaining // (len(wants) - done)
        grants[i] = max(0, min(wants[i], share))
        remaining -= grants[i]
    return grants


def _texts(node: Any) -> Iterable[str]:
    if isinstance(node, list):
        for item in node:
            yield from _texts(item)
    elif isinstance(node, Mapping):
        if node.get("type") in ("plain_text", "mrkdwn") and isinstance(node.get("text"), str):
            yield node["text"]
            return
        for value in node.values():
            yield from _texts(value)


def text_length(blocks: Sequence[Mapping[str, Any]]) -> int:
    """Total characters of every text object in ``blocks`` (what the message budget counts)."""
    return sum(len(text) for text in _texts(list(blocks)))
