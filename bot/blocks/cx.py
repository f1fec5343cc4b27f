"""The CX tile: conversations whose customer has waited past the CX SLA, longest first, as
`/occ cx` answers and the Home tab shows them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.blocks import text as t
from bot.domain import CxWait, SourceStatus
from bot.rules.health import stale_since

NAME_MAX = 60
PREVIEW_MAX = 120  # characters of the customer's last message


@dataclass(frozen=True)
class CxTile:
    """What the tile shows: how many conversations are past the SLA, and a line for each of
    the longest waits (`cx_line`)."""

    total: int
    lines: tuple[str, ...]
    sla_minutes: float


def cx_line(
    wait: CxWait, card_link: str | None, conversation_url: str | None, now: datetime
) -> str:
    """One conversation: the customer (linking to the card), how long they have waited, the
    conversation in Chatwoot, and a preview of their last message."""
    customer = wait.draft.input.customer
    who = t.inline(customer.name or customer.email or "a customer", NAME_MAX)
    if card_link:
        who = f"<{card_link}|{who}>"
    elif wait.draft.card is None:
        who += " (card not posted yet)"
    if wait.cards > 1:
        who += f" ({wait.cards} cards)"
    waited = t.format_minutes(max((now - wait.waiting_since).total_seconds() / 60, 0))
    conversation = f"#{wait.conversation_id}"
    if conversation_url:
        conversation = t.link(conversation_url, f"{conversation} in Chatwoot")
    preview = t.inline(wait.last_message, PREVIEW_MAX) or "(no text)"
    return f"• {who}: waiting *{waited}* · {conversation} · “{preview}”"


def sla_name(sla_minutes: float) -> str:
    return f"the {round(sla_minutes, 2):g}-minute CX SLA"


def cx_summary(tile: CxTile) -> str:
    """How many conversations are past the SLA, the longest waits, and how many more."""
    if not tile.total:
        return f"No conversation is past {sla_name(tile.sla_minutes)} :tada:"
    plural = "" if tile.total == 1 else "s"
    head = (
        f":alarm_clock: *{tile.total}* conversation{plural} past {sla_name(tile.sla_minutes)}, "
        "longest wait first:"
    )
    more = tile.total - len(tile.lines)
    return "\n".join([head, *tile.lines, *([f"…and {more} more."] if more > 0 else [])])


def chatwoot_freshness(
    source: SourceStatus | None, now: datetime, *, configured: bool, stale_minutes: float
) -> str:
    """What the tile's waits rest on: the webhook's messages, and the CX scan's last read of
    Chatwoot (which finds customers the webhook did not bring), named stale past
    ``stale_minutes``."""
    if not configured:
        return "_Chatwoot is not configured: only the drafts sent to the bot are counted._"
    if source is None or source.last_ok_at is None:
        return (
            "_The CX scan has not read Chatwoot yet: only the conversations the bot has "
            "drafts for are counted._"
        )
    ago = t.format_minutes(max((now - source.last_ok_at).total_seconds() / 60, 0))
    if stale_since(source, now, stale_minutes) is not None:
        return (
            f":warning: Chatwoot was last read {ago} ago: customers waiting since then without a "
            "draft may be missing."
        )
    return f"_As of Chatwoot read {ago} ago by the CX scan, and the customers' messages since._"


def cx_answer(tile: CxTile, freshness: str) -> str:
    """`/occ cx`: the tile and what it rests on."""
    return f"{cx_summary(tile)}\n{freshness}"
