"""What every drafter returns, and the one error it may raise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.domain import KbSource
from bot.drafting.context import NO_CONTEXT, DraftingContext


@dataclass(frozen=True)
class Proposal:
    """A drafted reply, ready to become a draft card.

    Args:
        text: the reply to the customer.
        confidence: 0..1, how sure the drafter is that the reply is right and complete.
        kb_sources: the knowledge-base articles the reply draws on, most relevant first.
        agent: who drafted it, shown on the card ("Offline KB Drafter", "OpenAI gpt-4o-mini").
        abstained: why the drafter wrote nothing (no article fits, out of scope); then
            ``text`` is empty and ``confidence`` 0.
    """

    text: str
    confidence: float
    kb_sources: tuple[KbSource, ...]
    agent: str
    abstained: str | None = None


class Drafter(Protocol):
    async def draft(
        self,
        *,
        customer_name: str | None,
        message: str,
        context: DraftingContext = NO_CONTEXT,
    ) -> Proposal: ...


class DraftingError(Exception):
    """The drafter could not produce a proposal (model down, rate-limited, unusable answer)."""
