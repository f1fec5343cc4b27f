"""What a drafter is told besides the customer's message: the conversation so far, the order
the customer asks about (or why there is none), and what operators did with similar messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.domain import ConversationLine, OrderFacts

# The history a prompt carries: the last messages before the ones being answered, as many as
# fit this budget (about 4 characters a token), newest kept first.
HISTORY_MESSAGES = 10
HISTORY_TOKENS = 1500
CHARS_PER_TOKEN = 4


class OrderLookup(StrEnum):
    FOUND = "found"
    NOT_NAMED = "not_named"  # no order number in the messages and no contact email
    NOT_FOUND = "not_found"
    UNVERIFIED = "unverified"  # an order number, but no email address to match it to them
    # an address typed into a chat widget, which anyone could type: its orders stay unsaid
    EMAIL_UNVERIFIED = "email_unverified"
    # none in the last 60 days, all Shopify shows a token without read_all_orders: it may
    # be older, so "no such order" would be a guess
    OUT_OF_WINDOW = "out_of_window"
    UNAVAILABLE = "unavailable"  # Shopify is not configured, or failed just now


@dataclass(frozen=True)
class Example:
    """How an operator answered a similar message: their final text, edited or as drafted."""

    customer_message: str
    reply: str
    edited: bool


@dataclass(frozen=True)
class Avoid:
    """A draft an operator rejected, and why."""

    customer_message: str
    draft: str
    reason: str


@dataclass(frozen=True)
class DraftingContext:
    history: tuple[ConversationLine, ...] = ()
    order: OrderFacts | None = None
    order_lookup: OrderLookup = OrderLookup.UNAVAILABLE
    order_number: str | None = None  # the number the customer named, if any
    examples: tuple[Example, ...] = ()
    avoid: tuple[Avoid, ...] = ()


NO_CONTEXT = DraftingContext()


def recent_history(
    lines: Sequence[ConversationLine],
    *,
    messages: int = HISTORY_MESSAGES,
    tokens: int = HISTORY_TOKENS,
) -> tuple[ConversationLine, ...]:
    """The last ``messages`` lines that fit ``tokens``, oldest first; the newest line alone
    longer than the budget is cut to it."""
    budget = tokens * CHARS_PER_TOKEN
    kept: list[ConversationLine] = []
    for line in reversed(lines[-messages:]):
        if budget <= 0:
            break
        if len(line.text) > budget:
            if kept:
                break
            text = line.text[:budget] + " …"
            line = ConversationLine(line.from_customer, line.author, text, line.at)
        kept.append(line)
        budget -= len(line.text)
    return tuple(reversed(kept))
