"""Drafts into the queue: stored (idempotent on external_id), then a card in Slack.

A draft arrives over `POST /drafts`, or is drafted from customers' Chatwoot messages
(`bot.flows.drafting`). The card is posted under a lease, so that a retrying job on another
replica cannot post it too.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

from bot import decision_log, slack
from bot.blocks.card import draft_card_text
from bot.domain import (
    Action,
    Draft,
    DraftInput,
    DraftState,
    LogEntry,
    SlackRef,
    TrainingCard,
)
from bot.drafting.base import DraftingError, Proposal
from bot.drafting.context import NO_CONTEXT, DraftingContext
from bot.flows import surfaces
from bot.flows.cards import beside, card_blocks
from bot.flows.incidents import dependency_failed, dependency_ok
from bot.flows.posting import Post, found_in_slack, post_once
from bot.rules.risk import risk_flags
from bot.runtime.batch import Tally, each
from bot.services import Services

log = logging.getLogger("occ.intake")

# How long the configured drafter may take before the draft is written offline instead: the
# customer's message waits, and so does the operator.
DRAFTING_BUDGET = 4.0


async def propose(
    services: Services,
    customer_name: str | None,
    message: str,
    context: DraftingContext = NO_CONTEXT,
) -> Proposal:
    """A drafted reply within the drafting budget; offline from the knowledge base when the
    configured drafter fails or is too slow. Loading the drafters' libraries, the first
    time, does not count against the budget."""
    await services.warm_drafters()
    online = services.drafter is not services.fallback_drafter
    try:
        proposal = await asyncio.wait_for(
            services.drafter.draft(customer_name=customer_name, message=message, context=context),
            DRAFTING_BUDGET,
        )
    except (DraftingError, TimeoutError) as error:
        error = error if isinstance(error, DraftingError) else DraftingError("drafting timed out")
        log.warning("drafter failed (%s); drafting offline instead", error)
        if online:
            await dependency_failed(services, "openai", f"{error}; drafting offline meanwhile")
        proposal = await services.fallback_drafter.draft(
            customer_name=customer_name, message=message, context=context
        )
        return replace(
            proposal,
            confidence=min(proposal.confidence, 0.5),
            agent=f"{proposal.agent} (fallback: {error})"[:200],
        )
    if online:
        await dependency_ok(services, "openai")
    return proposal


async def receive(
    services: Services, data: DraftInput, *, why: tuple[Action, dict] | None = None
) -> tuple[Draft, bool]:
    """Store a new draft (idempotent on external_id) and post its card in the background.

    ``why``: a log row that belongs with the draft (a CX breach), written in its transaction.
    """
    draft, logs = new_draft(services, data)
    if why is not None:
        logs.insert(0, decision_log.draft_entry(services, why[0], draft, why[1]))
    stored, created = await services.store.add_draft(draft, *logs)
    if created:
        spawn_card(services, stored)
    return stored, created


def new_draft(
    services: Services, data: DraftInput, *, training: TrainingCard | None = None, **received: Any
) -> tuple[Draft, list[LogEntry]]:
    """The draft for this input, with its risk flags, and its draft.received row (``received``
    adds to that row's payload)."""
    draft = Draft(
        id=services.new_id("d"),
        input=data,
        received_at=services.clock(),
        flags=risk_flags(data, high_value_usd=services.settings.high_value_usd),
        training=training,
    )
    payload = {
        "external_id": data.external_id,
        "agent": data.agent,
        **received,
        **decision_log.assessment(draft),
    }
    return draft, [decision_log.draft_entry(services, Action.DRAFT_RECEIVED, draft, payload)]


def spawn_card(services: Services, draft: Draft) -> None:
    services.background.spawn(post_card(services, draft), name=f"post-card-{draft.id}")


async def post_card(services: Services, draft: Draft, *, again: bool = False) -> Draft | None:
    """Post the draft's card once (see `bot.flows.posting`); a draft superseded while its
    card was on its way gets the card redrawn as superseded. ``again``: an earlier attempt
    failed, perhaps after Slack had posted it, so the card is looked for first."""
    store = services.store
    settings = services.settings
    training = draft.training is not None
    channel = settings.training_channel if training else settings.approvals_channel
    marker = slack.Metadata("occ_card", draft.id)
    shown = await beside(services, draft)

    posted = await post_once(
        services,
        Post(
            what="training card" if training else "card",
            channel=channel,
            setting="OCC_TRAINING_CHANNEL" if training else "OCC_APPROVALS_CHANNEL",
            render=lambda: (
                card_blocks(services, draft, shown=shown),
                draft_card_text(draft),
            ),
            entry=lambda payload, outcome: decision_log.draft_entry(
                services, Action.DRAFT_POSTED, draft, payload, outcome=outcome
            ),
            claim=lambda now, until: store.claim_card_post(draft.id, now=now, lease_until=until),
            record=lambda ref, at, log, until: store.set_card(
                draft.id, ref, at, log, lease_until=until
            ),
            refused=lambda until, log: store.refuse_card_post(draft.id, lease_until=until, log=log),
            unpark=lambda: store.unpark_cards(draft.scope),
            metadata=marker,
            posted_before=(
                found_in_slack(services, channel, marker, since=draft.received_at)
                if again
                else None
            ),
            recorded=lambda: _card_of(services, draft.id),
        ),
    )
    if posted is not None:
        services.pending_drafts.remember(posted)
    if posted is not None and posted.state is DraftState.SUPERSEDED:
        # Its supersession found no card to redraw: the card shows it now.
        await surfaces.changed(services, surfaces.Event(Action.DRAFT_SUPERSEDED, posted))
    return posted


async def _card_of(services: Services, draft_id: str) -> SlackRef | None:
    stored = await services.store.get_draft(draft_id)
    return None if stored is None else stored.card


async def repost_cards(services: Services) -> Tally:
    """Post the cards Slack refused earlier."""

    async def repost(draft_id: str) -> None:
        draft = await services.store.get_draft(draft_id)
        if draft is not None:
            await post_card(services, draft, again=True)

    ids = await services.store.unposted_drafts(services.clock())
    return await each(ids, repost, what="posting the card of")
