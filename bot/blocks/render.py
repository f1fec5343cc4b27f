"""Block Kit as readable plain text, for the terminal demo and for people reading test output.

Slack tokens become what a reader would see: a date token shows its fallback, ``<@U1>`` shows
as ``@U1``, a link as ``label (url)``, escaped characters as typed. Buttons show as
``[ Approve ]``; inputs show their label and initial value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

RULE_WIDTH = 60
_TOKEN = re.compile(r"<([^<>]+)>")
_UNESCAPE = {"&lt;": "<", "&gt;": ">", "&amp;": "&"}
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")


def blocks_to_text(blocks: Sequence[Mapping[str, Any]]) -> str:
    """A readable rendering of a message's (or modal's) blocks, one block after another."""
    return "\n".join(_block(block) for block in blocks).rstrip("\n")


def view_to_text(view: Mapping[str, Any]) -> str:
    """A modal: its title, its blocks, then its submit and close buttons."""
    title = _text(view.get("title"))
    lines = [f"┏━ {title} ━┓", blocks_to_text(view.get("blocks", []))]
    buttons = [_text(view.get(key)) for key in ("close", "submit") if view.get(key)]
    if buttons:
        lines.append("  ".join(f"[ {b} ]" for b in buttons))
    return "\n".join(lines)


def mrkdwn_to_text(text: str) -> str:
    """Slack mrkdwn as a reader sees it (tokens resolved, bold marks dropped, unescaped)."""
    text = _BOLD.sub(r"\1", _TOKEN.sub(_token, text))
    return re.sub(r"&(?:lt|gt|amp);", lambda m: _UNESCAPE[m.group(0)], text)


def _token(match: re.Match[str]) -> str:
    inner = match.group(1)
    if inner.startswith("!date^"):
        return inner.split("|", 1)[1] if "|" in inner else inner
    if inner.startswith("@"):
        return inner.split("|", 1)[0]
    if inner.startswith("#"):
        return "#" + (inner.split("|", 1)[1] if "|" in inner else inner[1:])
    if inner.startswith("!"):
        return "@" + inner[1:].split("|", 1)[0]
    url, _, label = inner.partition("|")
    url = mrkdwn_to_text(url)
    return f"{label} ({url})" if label else url


def _text(obj: Mapping[str, Any] | None) -> str:
    if not obj:
        return ""
    raw = str(obj.get("text", ""))
    return mrkdwn_to_text(raw) if obj.get("type") == "mrkdwn" else raw


def _block(block: Mapping[str, Any]) -> str:
    kind = block.get("type")
    if kind == "header":
        title = _text(block.get("text"))
        return f"{title}\n{'═' * min(RULE_WIDTH, max(len(title), 3))}"
    if kind == "section":
        return _section(block)
    if kind == "context":
        return "  " + " | ".join(_element(e) for e in block.get("elements", []))
    if kind == "divider":
        return "─" * RULE_WIDTH
    if kind == "actions":
        return "  ".join(_element(e) for e in block.get("elements", []))
    if kind == "input":
        return _input(block)
    return f"[{kind}]"


def _section(block: Mapping[str, Any]) -> str:
    parts = []
    if block.get("text"):
        parts.append(_text(block["text"]))
    for field in block.get("fields", []):
        label, _, rest = _text(field).partition("\n")
        label = label.strip("*")
        parts.append(f"{label}: {' · '.join(rest.splitlines())}" if rest else label)
    if block.get("accessory"):
        parts.append(_element(block["accessory"]))
    return "\n".join(parts)


def _element(element: Mapping[str, Any]) -> str:
    kind = element.get("type")
    if kind in ("mrkdwn", "plain_text"):
        return _text(element)
    if kind == "button":
        return f"[ {_text(element.get('text'))} ]"
    if kind == "image":
        return f"[image: {element.get('alt_text', '')}]"
    return f"[{kind}]"


def _input(block: Mapping[str, Any]) -> str:
    label = _text(block.get("label"))
    if block.get("optional"):
        label += " (optional)"
    element = block.get("element", {})
    kind = element.get("type")
    lines = [f"{label}:"]
    if kind == "plain_text_input":
        value = element.get("initial_value")
        if value:
            lines += [f"  │ {line}" for line in value.splitlines() or [""]]
        else:
            placeholder = _text(element.get("placeholder"))
            lines.append(f"  │ ({placeholder})" if placeholder else "  │")
    elif kind in ("static_select", "radio_buttons"):
        chosen = (element.get("initial_option") or {}).get("value")
        marks = ("(•)", "( )") if kind == "radio_buttons" else ("▸", " ")
        for option in element.get("options", []):
            mark = marks[0] if option.get("value") == chosen else marks[1]
            lines.append(f"  {mark} {_text(option.get('text'))}")
    else:
        lines.append(f"  [{kind}]")
    if block.get("hint"):
        lines.append(f"  ({_text(block['hint'])})")
    return "\n".join(lines)
