"""Drafts into the queue: stored (idempotent on external_id), then a card in Slack.

A draft arrives over `POST /drafts`, or as a customer's Chatwoot message that is drafted here
from the knowledge base first. The card is posted under a lease, so that a retrying job on
another replica cannot post it too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

from bot import audit
from bot.blocks.card import draft_card_text
from bot.domain import Action, Customer, Draft, DraftInput, Outcome, SlackRef
from bot.drafting.base import DraftingError, Proposal
from bot.flows.alerts import dependency_failed, dependency_ok
from bot.flows.cards import card_blocks
from bot.integrations.chatwoot_webhook import IncomingMessage
from bot.rules.risk import risk_flags
from bot.runtime.batch import Tally, each
from bot.services import Services
from bot.slack import SLACK_FAILURES, describe

log = logging.getLogger("occ.intake")

# Chatwoot waits a few seconds for a webhook's answer, and the draft must be stored before
# we answer (so a restart cannot lose the message): past this, draft offline instead.
DRAFTING_BUDGET = 4.0
POST_LEASE = timedelta(minutes=5)  # outlasts slack_sdk's retries of a rate-limited post


def external_id(incoming: IncomingMessage) -> str:
    return f"chatwoot-msg-{incoming.message_id}"


async def draft_from_chatwoot(services: Services, incoming: IncomingMessage) -> tuple[Draft, bool]:
    """Draft a reply and store it (idempotent on the message id); the card follows.

    A redelivery (Chatwoot resends when it got no answer in time) is recognised before any
    drafting: the model is not asked twice for the same message.
    """
    known = await services.store.draft_for_external_id(external_id(incoming))
    if known is not None:
        return known, False
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
    return await receive(services, data)


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


async def receive(services: Services, data: DraftInput) -> tuple[Draft, bool]:
    """Store a new draft (idempotent on external_id) and post its card in the background."""
    draft = Draft(
        id=services.new_id("d"),
        input=data,
        received_at=services.clock(),
        flags=risk_flags(data, high_value_usd=services.settings.high_value_usd),
    )
    payload = {"external_id": data.external_id, "agent": data.agent, **audit.assessment(draft)}
    stored, created = await services.store.add_draft(
        draft, audit.draft_entry(services, Action.DRAFT_RECEIVED, draft, payload)
    )
    if created:
        services.background.spawn(post_card(services, stored), name=f"post-card-{stored.id}")
    return stored, created


async def post_card(services: Services, draft: Draft) -> Draft | None:
    """Post the card under a lease, so a retrying job on another replica cannot post it too."""
    now = services.clock()
    lease_until = now + POST_LEASE
    if await services.store.claim_card_post(draft.id, now=now, lease_until=lease_until) is None:
        return None  # already posted, or another worker is posting it
    started = time.perf_counter()
    try:
        response = await services.slack.chat_postMessage(
            channel=services.settings.approvals_channel,
            blocks=card_blocks(services, draft),
            text=draft_card_text(draft),
        )
    except SLACK_FAILURES as error:
        detail = describe(error)
        await services.store.log(
            audit.draft_entry(
                services,
                Action.DRAFT_POSTED,
                draft,
                {"error": detail, "channel": services.settings.approvals_channel},
                outcome=Outcome.RETRY,
            )
        )
        await dependency_failed(services, "slack", f"chat.postMessage: {detail}")
        return None  # the `reposts` job tries again once the lease has expired
    await dependency_ok(services, "slack")
    card = SlackRef(channel=response["channel"], ts=response["ts"])
    payload = {
        "channel": card.channel,
        "ts": card.ts,
        "latency_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    return await services.store.set_card(
        draft.id,
        card,
        services.clock(),
        audit.draft_entry(services, Action.DRAFT_POSTED, draft, payload),
    )


async def repost_cards(services: Services) -> Tally:
    """Post the cards Slack refused earlier."""

    async def repost(draft_id: str) -> None:
        draft = await services.store.get_draft(draft_id)
        if draft is not None:
            await post_card(services, draft)

    ids = await services.store.unposted_drafts(services.clock())
    return await each(ids, repost, what="posting the card of")
