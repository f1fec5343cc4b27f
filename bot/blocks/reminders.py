"""The text of an SLA reminder: in the escalation's thread, or in a chain level's channel."""

from __future__ import annotations

from datetime import datetime

from bot.blocks import kit
from bot.blocks import text as t
from bot.blocks.labels import ESCALATION_TYPE_LABEL, URGENCY_LABEL
from bot.domain import Draft, Escalation, Reminder
from bot.rules.sla import minutes_between

NAME_MAX = 100


def reminder_blocks(
    reminder: Reminder,
    escalation: Escalation,
    draft: Draft | None,
    *,
    now: datetime,
    called: str,
    level_count: int,
    stepped_up: bool,
    in_channel: bool,
    escalation_link: str | None,
) -> tuple[list[dict], str]:
    """Blocks and notification text (which carries the mentions, so Slack notifies).

    Args:
        called: the mentions (or channel name) of the chain level this reminder goes to.
        stepped_up: this reminder is the first at its level.
        in_channel: posted in the level's own channel rather than the escalation's thread.
        escalation_link: permalink to the escalation message, for a channel post.
    """
    urgency = URGENCY_LABEL[escalation.urgency]
    late = t.lateness(minutes_between(escalation.due_at, now))
    deadline = t.slack_date(escalation.due_at)
    headline = (
        f"⏰ Reminder {reminder.number}: this {urgency} escalation is still unclaimed "
        f"{late} ({deadline})."
    )
    if in_channel:
        name = "a customer"
        if draft is not None and draft.input.customer.name:
            name = t.inline(draft.input.customer.name, NAME_MAX)
        kind = ESCALATION_TYPE_LABEL[escalation.type]
        headline = (
            f"⏰ An {urgency} escalation ({kind}) for {name} is still unclaimed {late} "
            f"({deadline}). Reminder {reminder.number}."
        )
    lines = [f"{called} {headline}" if called and not in_channel else headline]
    if stepped_up:
        lines.append(
            f"It has moved up the escalation chain to level {reminder.level + 1} of "
            f"{level_count}: {called or 'nobody is configured there'}."
        )
    if not called:
        lines.append("No one to mention: set OCC_MANAGERS (or OCC_MANAGERS_GROUP).")
    if in_channel:
        where = t.link(escalation_link, "Open the escalation") if escalation_link else None
        lines.append(f"{where} to claim it." if where else "Claim it in the escalations channel.")
    else:
        lines.append("Claim it on the message above.")
    text = " ".join(lines)
    return [kit.section("\n".join(lines))], text
