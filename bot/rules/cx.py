"""The CX SLA: a customer message left without an agent's reply for too long is a breach.

Chatwoot keeps ``waiting_since`` on each conversation: set when it is created and by a
customer's message when nobody waits yet, cleared by a person's or an agent bot's public reply
and by resolving it (docs/real-services.md, section 19). A breach is named by its
conversation, when the wait began and the customer's latest message: a new message after a
reply starts a new wait, and a new message after a card was marked resolved (which sends
nothing, so the wait goes on) is a new breach too.

A breach is read from that field alone, never from the messages: the CX scan reads Chatwoot's
list in that field's order (``waiting_since_asc``, NULL last) and stops at the first
conversation that is not a breach, which is right only while "breached" is exactly "waits
since before now − SLA". A customer whose message an agent bot answered, or who wrote before
an agent's reply, is not waiting for Chatwoot, and not for occ-bot either.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

# A customer waits in an open conversation, or in a pending one: an inbox with an agent bot
# keeps new conversations pending until the bot hands them over (docs/real-services.md). The
# scan reads pending first: a conversation handed over while it reads moves to open, read next.
WAITING_STATUSES = ("pending", "open")


def waiting_since(conversation: Mapping[str, Any]) -> datetime | None:
    """When the customer started waiting on this open or pending conversation; None if
    nobody waits."""
    if conversation.get("status") not in WAITING_STATUSES:
        return None
    since = conversation.get("waiting_since")
    if isinstance(since, bool) or not isinstance(since, int | float) or since <= 0:
        return None
    return datetime.fromtimestamp(since, UTC)


def breached(conversation: Mapping[str, Any], now: datetime, sla_minutes: float) -> bool:
    since = waiting_since(conversation)
    return since is not None and now - since >= timedelta(minutes=sla_minutes)


def breach_id(conversation_id: int, since: datetime, last_message_id: int | None) -> str:
    """The breach's name, the external id of its card: one card per breach."""
    return f"cx-breach-{conversation_id}-{int(since.timestamp())}-{last_message_id or 0}"
