"""A customer's Chatwoot message becomes a draft: knowledge base + drafter, then the queue."""

from __future__ import annotations

import asyncio
import logging

from bot import approvals
from bot.domain import Customer, Draft, DraftInput
from bot.drafting.base import DraftingError, Proposal
from bot.integrations.chatwoot_webhook import IncomingMessage
from bot.services import Services

log = logging.getLogger("occ.chatwoot")

# Chatwoot waits a few seconds for a webhook's answer, and the draft must be stored before
# we answer (so a restart cannot lose the message): past this, draft offline instead.
DRAFTING_BUDGET = 4.0


def external_id(incoming: IncomingMessage) -> str:
    return f"chatwoot-msg-{incoming.message_id}"


async def draft_from_chatwoot(services: Services, incoming: IncomingMessage) -> tuple[Draft, bool]:
    """Draft a reply and store it (idempotent on the message id); the card follows."""
    proposal = await _propose(services, incoming)
    data = DraftInput(
        conversation_id=incoming.conversation_id,
        customer_message=incoming.content,
        draft=proposal.text[:3000],
        confidence=proposal.confidence,
        customer=Customer(name=incoming.customer_name, email=incoming.customer_email),
        kb_sources=proposal.kb_sources,
        agent=proposal.agent,
        external_id=external_id(incoming),
    )
    return await approvals.receive(services, data)


async def _propose(services: Services, incoming: IncomingMessage) -> Proposal:
    try:
        return await asyncio.wait_for(
            services.drafter.draft(customer_name=incoming.customer_name, message=incoming.content),
            DRAFTING_BUDGET,
        )
    except (DraftingError, TimeoutError) as error:
        error = error if isinstance(error, DraftingError) else DraftingError("drafting timed out")
        log.warning("drafter failed (%s); drafting offline instead", error)
        proposal = await services.fallback_drafter.draft(
            customer_name=incoming.customer_name, message=incoming.content
        )
        return Proposal(
            text=proposal.text,
            confidence=min(proposal.confidence, 0.5),
            kb_sources=proposal.kb_sources,
            agent=f"{proposal.agent} (fallback: {error})"[:200],
        )
