"""A customer's Chatwoot message becomes a draft: knowledge base + drafter, then the queue."""

from __future__ import annotations

import logging

from bot import approvals
from bot.domain import Customer, DraftInput
from bot.drafting.base import DraftingError, Proposal
from bot.drafting.factory import offline_drafter
from bot.integrations.chatwoot_webhook import IncomingMessage
from bot.services import Services

log = logging.getLogger("occ.chatwoot")


def external_id(incoming: IncomingMessage) -> str:
    return f"chatwoot-msg-{incoming.message_id}"


async def draft_from_chatwoot(services: Services, incoming: IncomingMessage) -> None:
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
    await approvals.receive(services, data)


async def _propose(services: Services, incoming: IncomingMessage) -> Proposal:
    try:
        return await services.drafter.draft(
            customer_name=incoming.customer_name, message=incoming.content
        )
    except DraftingError as error:
        log.warning("drafter failed (%s); drafting offline instead", error)
        fallback = offline_drafter(services.settings)
        proposal = await fallback.draft(
            customer_name=incoming.customer_name, message=incoming.content
        )
        return Proposal(
            text=proposal.text,
            confidence=min(proposal.confidence, 0.5),
            kb_sources=proposal.kb_sources,
            agent=f"{proposal.agent} (fallback: {error})"[:200],
        )
