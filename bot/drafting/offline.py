"""The offline drafter: replies from the knowledge base alone; deterministic, no network.

It greets the customer by first name, tells them where their order stands when they ask and
Shopify knows the order, answers with the best article's most relevant passage (and the next
one when it matches nearly as well), and offers further help. When no article is relevant
enough (relevance under ``ANSWER_RELEVANCE``) it asks a customer asking about an order for
the details it needs, with a confidence under 0.4, and otherwise abstains: it writes nothing
and says why.

Confidence follows the retrieval: ``0.45 + 0.4 * relevance`` for an answer (0.59..0.85; an
extract from a policy article never reaches the "high" band without a person reading it),
``0.2 + 0.5 * relevance`` for a request for details, 0 for an abstention.
"""

from __future__ import annotations

import asyncio
import re

from bot.domain import KbSource, OrderFacts
from bot.drafting.base import Proposal
from bot.drafting.context import NO_CONTEXT, DraftingContext, OrderLookup
from bot.drafting.kb import Hit, KnowledgeBase
from bot.rules.orders import day

AGENT = "Offline KB Drafter"
ANSWER_RELEVANCE = 0.35
# A second passage, or another article as a source, must score this share of the best one.
RELATED_SHARE = 0.4
SECOND_PASSAGE_SHARE = 0.5
# An answer from the order's facts alone, with no article: a person should still read it.
ORDER_ONLY_CONFIDENCE = 0.75
# The customer is asking about an order of theirs (not, say, about a policy).
ORDER_TALK = re.compile(
    r"\b(order|package|parcel|tracking|shipped|delivered|arriv\w*|where is)\b", re.IGNORECASE
)


class OfflineDrafter:
    def __init__(self, kb: KnowledgeBase) -> None:
        self._kb = kb

    @property
    def knowledge_base(self) -> KnowledgeBase:
        return self._kb

    def warm(self) -> None:
        """Build the index now (llama-index's import takes about 2 s), not on the first draft."""
        self._kb.warm()

    async def draft(
        self,
        *,
        customer_name: str | None,
        message: str,
        context: DraftingContext = NO_CONTEXT,
    ) -> Proposal:
        # The first search imports llama-index (~2 s): keep it off the event loop.
        hits = await asyncio.to_thread(self._kb.search, message, 3)
        return compose(
            hits,
            customer_name,
            order=_order_part(message, context),
            about_an_order=ORDER_TALK.search(message) is not None,
            order_known=context.order is not None,
        )


def compose(
    hits: list[Hit],
    customer_name: str | None,
    *,
    order: str | None = None,
    about_an_order: bool = False,
    order_known: bool = False,
) -> Proposal:
    """The offline reply for these search hits (best first); ``order`` is what the store
    says about the order the customer asks about (``order_known``), or what is needed to find
    it, told first. With no article that fits, it asks a customer asking about an order for
    the details it needs, and abstains otherwise."""
    greeting = f"Hi {first_name(customer_name) or 'there'}!"
    if order is not None:
        greeting += f" {order}"
    if not hits or not fits(hits[0]):
        relevance = hits[0].relevance if hits else 0.0
        if not about_an_order:
            return abstain(hits, AGENT)
        if order is not None and order_known:  # the store's facts are the answer
            return Proposal(
                text=f"{greeting}\n\nLet me know if there's anything else I can help with!",
                confidence=ORDER_ONLY_CONFIDENCE,
                kb_sources=(),
                agent=AGENT,
            )
        if order is not None:  # what it takes to find their order
            return Proposal(
                text=f"{greeting}\n\nI'm here to help!",
                confidence=round(0.2 + 0.5 * relevance, 2),
                kb_sources=(),
                agent=AGENT,
            )
        return Proposal(
            text=(
                f"{greeting} Thanks for contacting us. To help you as quickly as possible, "
                "could you share a few more details? For example, your order number, the "
                "product you're asking about, or the issue you're running into. "
                "I'm here to help!"
            ),
            confidence=round(0.2 + 0.5 * relevance, 2),
            kb_sources=(),
            agent=AGENT,
        )
    best = hits[0]
    parts = [greeting + " Thanks for reaching out.", _answer(best)]
    if best.article.url:
        parts.append(f"You can read our full {best.article.title} here: {best.article.url}")
    parts.append("Let me know if there's anything else I can help with!")
    return Proposal(
        text="\n\n".join(parts),
        confidence=round(0.45 + 0.4 * best.relevance, 2),
        kb_sources=_sources(hits),
        agent=AGENT,
    )


def _order_part(message: str, context: DraftingContext) -> str | None:
    """A sentence of order facts when the customer asks about their order: only what Shopify
    says, or that the number they gave matches no order."""
    if not ORDER_TALK.search(message):
        return None
    if context.order is not None:
        return order_sentence(context.order)
    if context.order_lookup is OrderLookup.NOT_FOUND and context.order_number:
        return (
            f"I couldn't find an order numbered #{context.order_number} for you: could you "
            "double-check the number, or tell me the email address you ordered with?"
        )
    if context.order_lookup is OrderLookup.OUT_OF_WINDOW:
        which = f"order #{context.order_number}" if context.order_number else "your order"
        return f"A teammate will look up {which} for you and get back to you here."
    if context.order_lookup is OrderLookup.EMAIL_UNVERIFIED:
        return (
            "So that your order details only ever go to you, could you write to us from the "
            "email address you ordered with? We'll look it up from there."
        )
    if context.order_lookup is OrderLookup.UNVERIFIED and context.order_number:
        return (
            f"To look up order #{context.order_number}, could you tell me the email address "
            "you ordered with?"
        )
    return None


def order_sentence(order: OrderFacts) -> str:
    """Where the order stands, for the customer, from Shopify's facts alone."""
    placed = f"Your order {order.name} (placed {day(order.placed_at)})"
    if order.cancelled_at is not None:
        return f"{placed} was cancelled on {day(order.cancelled_at)}."
    if not order.shipments:
        return f"{placed} hasn't shipped yet."
    latest = order.shipments[-1]
    if latest.delivered_at is not None:
        return f"{placed} was delivered on {day(latest.delivered_at)}."
    sentence = f"{placed} shipped on {day(latest.shipped_at)}"
    if latest.carrier:
        sentence += f" with {latest.carrier}"
    if latest.tracking_number:
        sentence += f", tracking number {latest.tracking_number}"
    sentence += "."
    if latest.tracking_url:
        sentence += f" Track it here: {latest.tracking_url}"
    if latest.estimated_delivery_at is not None:
        sentence += f" Estimated delivery: {day(latest.estimated_delivery_at)}."
    return sentence


def fits(hit: Hit) -> bool:
    """The article answers the message: relevant enough, and sharing more with it than one
    stray word (two words or half of them, or the word the article is about)."""
    shares = hit.matched >= 2 or hit.coverage >= 0.5 or hit.in_title
    return hit.relevance >= ANSWER_RELEVANCE and shares


def abstain(hits: list[Hit], agent: str) -> Proposal:
    """No draft: no knowledge-base article fits the message."""
    if hits:
        best = hits[0]
        why = (
            "no knowledge-base article fits this message, so it may be out of scope "
            f"(closest: {best.article.title}, sharing {best.matched} of its words)"
        )
    else:
        why = "no knowledge-base article shares a word with this message: it may be out of scope"
    return Proposal(text="", confidence=0.0, kb_sources=(), agent=agent, abstained=why)


def first_name(name: str | None) -> str | None:
    """The first word of a contact name, or None when it is no name (a phone number, an email)."""
    words = (name or "").split()
    if not words:
        return None
    first = words[0].strip(",.;:!?\"'()")
    if "@" in first or not any(c.isalpha() for c in first):
        return None
    return (first.capitalize() if first.islower() else first)[:40]


def _answer(hit: Hit) -> str:
    best = hit.passages[0]
    chosen = [
        scored.passage
        for scored in hit.passages[:2]
        if scored is best or scored.score >= SECOND_PASSAGE_SHARE * best.score
    ]
    # Articles state the rule before the details: keep the article's order.
    ordered = [p for p in hit.article.passages if any(p is c for c in chosen)]
    return "\n\n".join(p.text for p in ordered)


def _sources(hits: list[Hit]) -> tuple[KbSource, ...]:
    top = hits[0].score
    return tuple(
        hit.as_source() for i, hit in enumerate(hits) if i == 0 or hit.score >= RELATED_SHARE * top
    )
