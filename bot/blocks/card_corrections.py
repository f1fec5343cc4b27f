"""What a sent card shows of the corrections sent after its reply: each one's text under the
sent text, who sent it and how its delivery went."""

from __future__ import annotations

from collections.abc import Sequence

from bot.blocks import text as t
from bot.domain import DeliveryStatus, OutboxMessage

SHOWN = 5  # the latest corrections a card shows; earlier ones are counted
ERROR_MAX = 300


def shown_corrections(
    corrections: Sequence[OutboxMessage],
) -> list[tuple[str, str, OutboxMessage]]:
    """The corrections a card shows, oldest first: (its key among the card's long texts, its
    mrkdwn label, the correction)."""
    first = max(len(corrections) - SHOWN, 0)
    shown = [
        (f"correction_{n}", correction_label(n, c), c)
        for n, c in enumerate(corrections[first:], start=first + 1)
    ]
    if first:  # the first one shown says how many came before it
        key, label, correction = shown[0]
        earlier = f"_{first} earlier correction{'s' if first > 1 else ''} in Chatwoot_"
        shown[0] = (key, f"{earlier}\n{label}", correction)
    return shown


def correction_label(number: int, correction: OutboxMessage) -> str:
    """``*✍️ Correction 1* by @olivia, sent 10:45``: who, and how its delivery went."""
    delivery = correction.delivery
    head = f"*✍️ Correction {number}* by {t.mention(correction.actor)}"
    error = t.inline(delivery.last_error or "unknown error", ERROR_MAX)
    if delivery.status is DeliveryStatus.SENT:
        when = f" {t.slack_date(delivery.sent_at)}" if delivery.sent_at else ""
        return f"{head}, sent{when}"
    if delivery.status is DeliveryStatus.FAILED:
        when = t.slack_date(delivery.next_attempt_at) if delivery.next_attempt_at else "soon"
        return f"{head} — ⚠️ Chatwoot failed: {error}; retrying {when}"
    if delivery.status is DeliveryStatus.GAVE_UP:
        return f"{head} — ❌ not sent: {error}. Send it again with Send Correction."
    return f"{head} — ⏳ sending…"
