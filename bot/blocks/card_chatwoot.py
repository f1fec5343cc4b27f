"""What a draft card shows of the conversation's life in Chatwoot itself: the work done there
that retired the card, and who is on it there."""

from __future__ import annotations

from bot.blocks import text as t
from bot.domain import Assignee, RetiredBecause, Retirement

NAME_MAX = 100


def done_in_chatwoot(retired: Retirement) -> str:
    """The work done in Chatwoot that retired a card, in three words."""
    if retired.because is RetiredBecause.RESOLVED:
        return "Resolved in Chatwoot"
    return "Answered in Chatwoot"


def retired_status(retired: Retirement) -> str:
    """A retired card's status line: what was done in Chatwoot, by whom, when."""
    by = f" by {t.escape(retired.by)}" if retired.by else ""
    return (
        f"💬 *{done_in_chatwoot(retired)}*{by} {t.slack_date(retired.at)}. "
        "Nothing was sent from this card; follow up in Chatwoot."
    )


def assignee_note(assignee: Assignee) -> str:
    """A waiting card's note that a person took the conversation in Chatwoot."""
    name = t.inline(assignee.name, NAME_MAX)
    return f"👤 *{name} is on it in Chatwoot* (assigned {t.slack_date(assignee.since)})."
