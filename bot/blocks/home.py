"""The app's Home tab: the queue at a glance and how the buttons work."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.blocks import kit
from bot.blocks.queue import HELP, queue_text
from bot.blocks.text import slack_date
from bot.domain import QueueSummary


def home_view(
    summary: QueueSummary,
    now: datetime,
    *,
    waiting: Sequence[str] = (),
    approvals_channel: str,
) -> dict[str, Any]:
    """``waiting``: a line per waiting draft, oldest first (`bot.blocks.queue.waiting_line`)."""
    blocks = [
        kit.header("Operator Control Center"),
        kit.section(queue_text(summary, now, approvals_channel=approvals_channel)),
    ]
    if waiting:
        shown = "*Oldest waiting*" if summary.pending > len(waiting) else "*Waiting*"
        blocks.append(kit.section(shown + "\n" + "\n".join(waiting)))
    blocks += [
        kit.context(f"As of {slack_date(now)}. Redrawn after your decisions, and when opened."),
        kit.divider(),
        kit.section(HELP),
    ]
    return {"type": "home", "blocks": blocks}
