"""How a manager's resolution reads: on the Chatwoot conversation, to the operator who
escalated (the guide's "follow-up on resolution for learning"), and on the escalation message."""

from __future__ import annotations

from bot.blocks import text as t
from bot.blocks.labels import RESOLUTION_OUTCOME_LABEL
from bot.domain import Escalation, Resolution

SUMMARY_MAX = 1500
NOTES_MAX = 1500


def outcome_text(resolution: Resolution) -> str:
    """ "Refund of $59.98", "Replacement sent" (plain text, nothing from a user)."""
    label = RESOLUTION_OUTCOME_LABEL[resolution.outcome]
    if resolution.amount_usd is not None:
        return f"{label} of {t.money(resolution.amount_usd)}"
    return label


def resolution_note(resolution: Resolution, manager: str) -> str:
    """The private note on the Chatwoot conversation (Chatwoot's own Markdown, for agents)."""
    lines = [f"Resolved in Slack by {manager}: {outcome_text(resolution)}.", resolution.summary]
    if resolution.notes:
        lines.append(f"Notes: {resolution.notes}")
    if resolution.customer_reply:
        lines.append("The customer was sent a reply from Slack.")
    return "\n\n".join(lines)


def resolution_for_operator(escalation: Escalation, resolution: Resolution, manager: str) -> str:
    """The direct message to the operator who escalated (mrkdwn; the manager's words escaped)."""
    lines = [
        f"Your escalation {escalation.id} was resolved by {t.mention(manager)}: "
        f"*{outcome_text(resolution)}*.",
        f"*What was done*\n{t.quote(resolution.summary, SUMMARY_MAX)}",
    ]
    if resolution.notes:
        lines.append(f"*Notes for you*\n{t.quote(resolution.notes, NOTES_MAX)}")
    if resolution.customer_reply:
        lines.append("The manager replied to the customer from Slack.")
    return "\n".join(lines)


def resolution_status(resolution: Resolution) -> str:
    """The resolution as the escalation message shows it."""
    text = f"*Outcome*: {outcome_text(resolution)}\n{t.quote(resolution.summary, SUMMARY_MAX)}"
    if resolution.customer_reply:
        text += "\n_Replied to the customer from Slack._"
    return text
