"""What a draft is grounded in besides the knowledge base: the conversation's recent messages
(Chatwoot), the order the customer asks about (Shopify), and what operators did with similar
messages (the decision log).

Either source may be missing or failing: drafting goes on without it, and the prompt says so
(with no order facts, the model must ask for what it needs rather than invent).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence

from bot.domain import ConversationLine, InboundMessage, OrderFacts
from bot.drafting.context import DraftingContext, OrderLookup, recent_history
from bot.drafting.examples import RECENT_DECISIONS, learned
from bot.integrations.chatwoot import conversation_lines
from bot.integrations.chatwoot_answers import ChatwootError
from bot.services import Services

log = logging.getLogger("occ.grounding")

# Each read may take this long before the draft is written without it.
READ_BUDGET = 5.0
# "#1001", "order 1001", "order number: 1001", "order no. #1001"
ORDER_NUMBER = re.compile(
    r"(?:#\s?|\border\s*(?:number|num|no\.?)?\s*:?\s*#?\s?)(\d{3,12})\b", re.IGNORECASE
)


def order_number(texts: Sequence[str]) -> str | None:
    """The order number the customer names last, if any."""
    for text in reversed(texts):
        found = ORDER_NUMBER.findall(text)
        if found:
            return found[-1]
    return None


async def ground(services: Services, messages: Sequence[InboundMessage]) -> DraftingContext:
    """The context for drafting a reply to these messages (oldest first, one conversation)."""
    newest = messages[-1]
    texts = [m.content for m in messages]
    history, (order, lookup), decided = await asyncio.gather(
        _history(services, newest.conversation_id, first=messages[0].message_id),
        _order(services, texts, newest.customer_email, verified=newest.email_verified),
        services.store.decided_drafts(RECENT_DECISIONS),
    )
    examples, avoid = learned("\n".join(texts), decided)
    return DraftingContext(
        history=history,
        order=order,
        order_lookup=lookup,
        order_number=order_number(texts),
        examples=examples,
        avoid=avoid,
    )


async def _history(
    services: Services, conversation_id: int, *, first: int
) -> tuple[ConversationLine, ...]:
    """The customer-visible messages before the ones being answered."""
    chatwoot = services.chatwoot
    if chatwoot is None:
        return ()
    try:
        raw = await asyncio.wait_for(chatwoot.list_messages(conversation_id), READ_BUDGET)
    except (ChatwootError, TimeoutError) as error:
        log.warning("drafting #%s without its history: %s", conversation_id, error)
        return ()
    earlier = [m for m in raw if isinstance(m.get("id"), int) and m["id"] < first]
    return recent_history(conversation_lines(earlier))


async def _order(
    services: Services, texts: Sequence[str], email: str | None, *, verified: bool
) -> tuple[OrderFacts | None, OrderLookup]:
    shopify = services.shopify
    if shopify is None:
        return None, OrderLookup.UNAVAILABLE
    from bot.integrations.shopify import ShopifyError  # loaded with the client (httpx)
    from bot.integrations.shopify_orders import find_order

    number = order_number(texts)
    if not email:  # nothing to check an order against: never state one
        return None, OrderLookup.UNVERIFIED if number else OrderLookup.NOT_NAMED
    if not verified:  # anyone can type someone else's address into a chat widget
        return None, OrderLookup.EMAIL_UNVERIFIED
    try:
        found = await asyncio.wait_for(find_order(shopify, number=number, email=email), READ_BUDGET)
        if found is not None:
            return found, OrderLookup.FOUND
        if not await asyncio.wait_for(shopify.sees_all_orders(), READ_BUDGET):
            return None, OrderLookup.OUT_OF_WINDOW  # older than 60 days, perhaps
    except (ShopifyError, TimeoutError) as error:
        log.warning("drafting without order facts: %s", error)
        return None, OrderLookup.UNAVAILABLE
    return None, OrderLookup.NOT_FOUND
