"""The app's Home tab: the queue at a glance and how the buttons work."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.blocks import kit
from bot.blocks.cx import CxTile, cx_summary
from bot.blocks.labels import ESCALATION_TYPE_LABEL, URGENCY_BADGE
from bot.blocks.queue import HELP, queue_text
from bot.blocks.stats import person_lines, team_lines
from bot.blocks.text import mention, slack_date
from bot.domain import DecisionStats, Escalation, QueueSummary


@dataclass(frozen=True)
class Numbers:
    """What the Home tab shows of the team's numbers, for its viewer."""

    mine_today: DecisionStats
    mine_week: DecisionStats
    team_today: DecisionStats
    team_week: DecisionStats


def escalation_line(escalation: Escalation, link: str | None) -> str:
    """One open escalation, for a manager: what, how urgent, when due, who claimed it."""
    what = ESCALATION_TYPE_LABEL[escalation.type]
    what = f"<{link}|{what}>" if link else what
    who = f"claimed by {mention(escalation.claimed_by)}" if escalation.claimed_by else "*unclaimed*"
    return (
        f"• {URGENCY_BADGE[escalation.urgency]} {what} · conversation "
        f"#{escalation.conversation_id}, due {slack_date(escalation.due_at)} · {who}"
    )


NOT_AN_OPERATOR = (
    "The queue holds customers' names, messages and orders, so it is shown to operators and "
    "managers only (`OCC_OPERATORS`, `OCC_MANAGERS`). Ask whoever runs occ-bot to add you."
)


def outsider_home_view() -> dict[str, Any]:
    """The Home tab of someone who is neither an operator nor a manager."""
    return {
        "type": "home",
        "blocks": [kit.header("Operator Control Center"), kit.section(NOT_AN_OPERATOR)],
    }


def home_view(
    summary: QueueSummary,
    now: datetime,
    *,
    waiting: Sequence[str] = (),
    numbers: Numbers | None = None,
    escalations: Sequence[str] | None = None,
    cx: CxTile | None = None,
    approvals_channel: str,
) -> dict[str, Any]:
    """``waiting``: a line per waiting draft, oldest first (`bot.blocks.queue.waiting_line`);
    ``escalations``: a line per open escalation, for a manager (None: not a manager);
    ``cx``: the conversations past the CX SLA now (`bot.blocks.cx`)."""
    blocks = [
        kit.header("Operator Control Center"),
        kit.section(queue_text(summary, now, approvals_channel=approvals_channel)),
    ]
    if waiting:
        shown = "*Oldest waiting*" if summary.pending > len(waiting) else "*Waiting*"
        blocks.append(kit.section(shown + "\n" + "\n".join(waiting)))
    if cx is not None:
        blocks += [kit.divider(), kit.section(f"*CX breaches now*\n{cx_summary(cx)}")]
    if numbers is not None:
        blocks += [
            kit.divider(),
            kit.section("\n".join(["*Your numbers today*", *person_lines(numbers.mine_today)])),
            kit.section("\n".join(["*Your week*", *person_lines(numbers.mine_week)])),
            kit.section("\n".join(["*The team today*", *team_lines(numbers.team_today)])),
            kit.section("\n".join(["*The team this week*", *team_lines(numbers.team_week)])),
        ]
    if escalations is not None:
        listed = "\n".join(escalations) if escalations else "None open :tada:"
        blocks += [kit.divider(), kit.section(f"*Open escalations*\n{listed}")]
    blocks += [
        kit.context(f"As of {slack_date(now)}. Redrawn after your decisions, and when opened."),
        kit.divider(),
        kit.section(HELP),
    ]
    return {"type": "home", "blocks": blocks}
