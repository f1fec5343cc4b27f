"""Small Block Kit constructors that keep every field within Slack's per-field limits.

Callers pass mrkdwn they built from escaped parts (see ``text``); these functions only cut,
as a last resort, so that no single field can make Slack refuse the whole message.
"""

from __future__ import annotations

from typing import Any

from bot.blocks import text as t

Block = dict[str, Any]


def plain(text: str, limit: int) -> dict[str, Any]:
    """A plain_text object (never parsed for mentions or links), cut to ``limit``."""
    return {"type": "plain_text", "text": t.truncate(text, limit), "emoji": True}


def mrkdwn(text: str, limit: int = t.SECTION_TEXT_MAX) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": t.truncate(text, limit)}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, t.HEADER_TEXT_MAX)}


def section(text: str, *, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if block_id:
        block["block_id"] = block_id
    return block


def fields(items: list[str]) -> Block:
    """A two-column section of mrkdwn fields (at most ten, each within its limit)."""
    return {
        "type": "section",
        "fields": [mrkdwn(item, t.FIELD_TEXT_MAX) for item in items[: t.FIELDS_MAX]],
    }


def context(*texts: str) -> Block:
    return {
        "type": "context",
        "elements": [mrkdwn(text, t.CONTEXT_TEXT_MAX) for text in texts[: t.CONTEXT_ELEMENTS_MAX]],
    }


def divider() -> Block:
    return {"type": "divider"}


def button(text: str, action_id: str, value: str, *, style: str | None = None) -> dict[str, Any]:
    if len(value) > t.BUTTON_VALUE_MAX:
        raise ValueError(f"button value longer than {t.BUTTON_VALUE_MAX} characters")
    element: dict[str, Any] = {
        "type": "button",
        "text": plain(text, t.BUTTON_TEXT_MAX),
        "action_id": action_id,
        "value": value,
    }
    if style:
        element["style"] = style
    return element


def actions(*elements: dict[str, Any], block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": list(elements)}
    if block_id:
        block["block_id"] = block_id
    return block


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text, t.OPTION_TEXT_MAX), "value": value}
