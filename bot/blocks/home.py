"""The app's Home tab: the queue at a glance and how the buttons work."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.blocks import kit
from bot.blocks.queue import HELP, queue_text
from bot.blocks.text import slack_date
from bot.domain import QueueSummary


def home_view(summary: QueueSummary, now: datetime, *, approvals_channel: str) -> dict[str, Any]:
    return {
        "type": "home",
        "blocks": [
            kit.header("Operator Control Center"),
            kit.section(queue_text(summary, now, approvals_channel=approvals_channel)),
            kit.context(f"As of {slack_date(now)}. Open this tab again to refresh."),
            kit.divider(),
            kit.section(HELP),
        ],
    }
