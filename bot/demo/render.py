"""What Slack would show, as terminal text, for `occ-bot demo`.

Slack turns the bot's mrkdwn into what a reader sees: emoji codes become emoji, a date
token becomes a date in the reader's time zone, a mention becomes the person's name, a link
its label. :class:`SlackView` does the same for text, messages, modals and Home tabs:

- ``:rotating_light:`` → 🚨 (the codes the bot uses, `EMOJI`; an unknown code is left as
  typed, so that a new one shows up in the demo's test);
- ``<!date^1796536414^{date_short_pretty} at {time}|…>`` → ``Today at 05:53 UTC``;
- ``<@U0MORGAN>`` → ``@morgan``, ``<#C0123|occ-sales>`` → ``#occ-sales``,
  ``<!here>`` → ``@here``, ``<!subteam^S1|@managers>`` → ``@managers``;
- ``<https://…|order #1001>`` → ``order #1001`` (a bare ``<https://…>`` stays the URL);
- ``*bold*`` → ``bold`` and ``_italic_`` → ``italic`` (always stripped, as in
  `bot.blocks.render`); ``&lt;`` etc. unescaped; `code` keeps its backticks.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.blocks.render import blocks_to_text, view_to_text

# Every emoji code the bot writes (grep bot/ for `:[a-z_]+:`), and a few Slack favourites.
EMOJI = {
    "alarm_clock": "⏰",
    "arrow_double_down": "⏬",
    "arrows_counterclockwise": "🔄",
    "bar_chart": "📊",
    "bell": "🔔",
    "chart_with_downwards_trend": "📉",
    "chart_with_upwards_trend": "📈",
    "eyes": "👀",
    "heavy_check_mark": "✔️",
    "hourglass": "⌛",
    "hourglass_flowing_sand": "⏳",
    "information_source": "ℹ️",
    "large_green_circle": "🟢",
    "large_yellow_circle": "🟡",
    "mega": "📣",
    "memo": "📝",
    "money_with_wings": "💸",
    "no_entry": "⛔",
    "package": "📦",
    "red_circle": "🔴",
    "repeat": "🔁",
    "rotating_light": "🚨",
    "snail": "🐌",
    "tada": "🎉",
    "thread": "🧵",
    "warning": "⚠️",
    "white_check_mark": "✅",
    "white_circle": "⚪",
    "x": "❌",
}

_TOKEN = re.compile(r"<([^<>\n]+)>")
_EMOJI = re.compile(r":([a-z0-9_+-]+):")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_([^_\n]+)_(?![\w_])")
_ESCAPED = {"&lt;": "<", "&gt;": ">", "&amp;": "&"}
_DATE_TOKEN = re.compile(
    r"\{(date_num|date_short_pretty|date_long_pretty|date_pretty|"
    r"date_short|date_long|date|time_secs|time|ago)\}"
)


def emoji(text: str) -> str:
    """Known emoji codes as emoji; others as typed."""
    return _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), text)


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _ago(delta: timedelta) -> str:
    seconds = int(abs(delta.total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            amount = f"{n} {unit}{'' if n == 1 else 's'}"
            break
    else:
        return "just now"
    return f"{amount} ago" if delta.total_seconds() >= 0 else f"in {amount}"


class SlackView:
    """Renders Slack mrkdwn and Block Kit as a reader sees them.

    Args:
        names: user id → the name Slack shows for a mention (its display name).
        zone: the reader's time zone, for date tokens.
        now: the current time, for "Today", "Yesterday" and "… ago" (the demo's clock).
    """

    def __init__(
        self,
        names: Mapping[str, str] | None = None,
        zone: ZoneInfo | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.names = dict(names or {})
        self.zone = zone or ZoneInfo("UTC")
        self.now = now or (lambda: datetime.now(UTC))

    # -- text -----------------------------------------------------------------------------------

    def mrkdwn(self, text: str) -> str:
        """mrkdwn as shown: tokens resolved, bold marks dropped, emoji, unescaped."""
        text = _TOKEN.sub(self._token, text)
        text = emoji(_ITALIC.sub(r"\1", _BOLD.sub(r"\1", text)))
        return re.sub(r"&(?:lt|gt|amp);", lambda m: _ESCAPED[m.group(0)], text)

    def mention(self, user_id: str) -> str:
        return "@" + self.names.get(user_id, user_id)

    def date(self, timestamp: float, fmt: str) -> str:
        """A ``<!date^…>`` token's format, filled in as Slack does for a reader in `zone`."""
        when = datetime.fromtimestamp(timestamp, UTC).astimezone(self.zone)
        today = self.now().astimezone(self.zone).date()
        zone_name = when.tzname() or str(self.zone)

        def long(day: date) -> str:
            return f"{day:%B} {_ordinal(day.day)}, {day.year}"

        def pretty(plain: str) -> str:
            relative = {0: "Today", -1: "Yesterday", 1: "Tomorrow"}
            return relative.get((when.date() - today).days, plain)

        def field(match: re.Match[str]) -> str:
            name = match.group(1)
            day = when.date()
            values = {
                "date_num": f"{day:%Y-%m-%d}",
                "date": long(day),
                "date_short": f"{day:%b} {day.day}, {day.year}",
                "date_long": f"{day:%A}, {long(day)}",
                "time": f"{when:%H:%M} {zone_name}",
                "time_secs": f"{when:%H:%M:%S} {zone_name}",
                "ago": _ago(self.now() - when),
            }
            if name.endswith("_pretty"):
                return pretty(values[name.removesuffix("_pretty")])
            return values[name]

        return _DATE_TOKEN.sub(field, fmt)

    def _token(self, match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("!date^"):
            parts = target.split("^")
            try:
                return self.date(float(parts[1]), parts[2] if len(parts) > 2 else "{date_num}")
            except (IndexError, ValueError):
                return label or inner
        if target.startswith("@"):
            return self.mention(target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!subteam^"):
            return label or "@" + target.split("^", 1)[1]
        if target.startswith("!"):
            return "@" + target[1:]
        return label or target

    # -- Block Kit ------------------------------------------------------------------------------

    def blocks(self, blocks: Sequence[Mapping[str, Any]]) -> str:
        """A message's (or a Home tab's) blocks, one after another."""
        return blocks_to_text(self._shown(list(blocks)))

    def view(self, view: Mapping[str, Any]) -> str:
        """A modal: its title, its blocks, and its buttons."""
        return view_to_text(self._shown(dict(view)))

    def message(self, message: Mapping[str, Any]) -> str:
        """A posted message: its blocks if it has any, else its text; files it shares."""
        shown = self.blocks(message["blocks"]) if message.get("blocks") else ""
        if not shown:
            shown = self.mrkdwn(str(message.get("text") or ""))
        for file in message.get("files") or ():
            shown += f"\n📎 {file.get('name') or file.get('title')}"
        return shown.strip("\n")

    def _shown(self, value: Any) -> Any:
        """A copy with every text object as plain text, as the reader sees it."""
        value = copy.deepcopy(value)
        self._resolve(value)
        return value

    def _resolve(self, node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                self._resolve(item)
            return
        if not isinstance(node, dict):
            return
        kind, text = node.get("type"), node.get("text")
        if kind == "markdown" and isinstance(text, str):  # a markdown block: show as a section
            node.clear()
            node.update({"type": "section", "text": {"type": "mrkdwn", "text": text}})
        elif kind in ("mrkdwn", "plain_text") and isinstance(text, str):
            node["text"] = self.mrkdwn(text) if kind == "mrkdwn" else emoji(text)
            node["type"] = "plain_text"
            return
        for child in node.values():
            self._resolve(child)
