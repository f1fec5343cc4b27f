"""Customers' Chatwoot messages become drafts off the webhook's path.

The webhook only stores the message (`accept`) and answers. Drafting waits until the customer
has paused for ``OCC_DRAFT_QUIET_SECONDS``, so a burst of messages becomes one draft, and then
runs under the conversation's drafting lease (`draft_conversation`): one drafter per
conversation at a time, so a newer draft always answers every message an older one did.

A new draft answers every message no decided draft answered: the waiting ones, and those of
a still-pending draft, which it supersedes (that card says so and loses its buttons). The
`drafting` job picks up messages whose drafting never happened (a replica stopped or
crashed in the quiet period or mid-draft); a drafting that keeps failing gives up after
`MAX_TRIES`, marks the messages failed and says so in the reliability channel.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from bot import decision_log
from bot.blocks.text import escape
from bot.domain import (
    Action,
    Customer,
    Draft,
    DraftInput,
    InboundMessage,
    InboundState,
    Order,
    OrderFacts,
    Outcome,
)
from bot.draft_body import MAX_DRAFT_CHARS
from bot.flows import chatwoot_work, surfaces
from bot.flows.grounding import ground
from bot.flows.incidents import FIRST_STEP, clear_incident, raise_incident
from bot.flows.intake import new_draft, propose, spawn_card
from bot.integrations.chatwoot_webhook import IncomingMessage
from bot.rules.risk import calibrated, risk_flags
from bot.runtime.batch import Tally, each
from bot.services import Services

log = logging.getLogger("occ.drafting")

# Longer than any one drafting (the model's budget, Chatwoot and Shopify reads): a replica
# that dies mid-draft delays the conversation by this much.
LEASE = timedelta(seconds=60)
# The waits after the first and second failed tries; the third gives up.
RETRY_AFTER = (timedelta(seconds=30), timedelta(minutes=2))
MAX_TRIES = len(RETRY_AFTER) + 1
# Past its quiet period, a message still waiting is the `drafting` job's: its own drafting was
# lost (a restart) or is failing.
ORPHANED_AFTER = timedelta(seconds=15)


def message_key(message_id: int) -> str:
    """The stored message's id, and the external_id of a draft whose newest message it is."""
    return f"chatwoot-msg-{message_id}"


async def accept(services: Services, incoming: IncomingMessage) -> bool:
    """Store a customer's message (False for a redelivery) and draft it after the quiet."""
    message = InboundMessage(
        id=message_key(incoming.message_id),
        conversation_id=incoming.conversation_id,
        message_id=incoming.message_id,
        content=incoming.content,
        customer_name=incoming.customer_name,
        customer_email=incoming.customer_email,
        email_verified=incoming.email_verified,
        received_at=services.clock(),
    )
    created = await services.store.add_inbound(message)
    if created:
        services.warm_drafters()  # loads during the quiet period, if not loaded yet
        draft_after_quiet(services, message.conversation_id)
    return created


def draft_after_quiet(services: Services, conversation_id: int) -> None:
    services.background.spawn_after_quiet(
        f"drafting-{conversation_id}",
        services.settings.draft_quiet_seconds,
        lambda: draft_conversation(services, conversation_id),
        name=f"drafting-{conversation_id}",
    )


async def draft_waiting(services: Services) -> Tally:
    """Draft the conversations whose messages have waited past their quiet period."""
    quiet = timedelta(seconds=services.settings.draft_quiet_seconds)
    waiting = await services.store.conversations_waiting(services.clock() - quiet - ORPHANED_AFTER)

    async def draft(conversation_id: int) -> None:
        await draft_conversation(services, conversation_id)

    return await each(waiting, draft, what="drafting conversation")


async def draft_conversation(services: Services, conversation_id: int) -> Draft | None:
    """Draft what the conversation's customer is waiting on, once; None when another drafter
    holds the conversation, when nothing is waiting, or when this try failed."""
    store = services.store
    now = services.clock()
    lease_until = now + LEASE
    failures = await store.claim_drafting(conversation_id, now=now, lease_until=lease_until)
    if failures is None:
        return None
    try:
        draft = await _draft_holding_lease(services, conversation_id, lease_until)
    except Exception as error:  # any failure is counted, retried, and at last said aloud
        log.exception("drafting conversation %s failed", conversation_id)
        retry_at = now + RETRY_AFTER[min(failures, len(RETRY_AFTER) - 1)]
        why = f"{type(error).__name__}: {error}"
        await _failed(services, conversation_id, lease_until, why, retry_at)
        return None
    await store.release_drafting(conversation_id, lease_until=lease_until)
    if draft is not None and await _still_waiting(services, conversation_id):
        # The customer wrote while this ran; that message's own try found the lease taken.
        draft_after_quiet(services, conversation_id)
    return draft


async def _still_waiting(services: Services, conversation_id: int) -> bool:
    unanswered = await services.store.unanswered_messages(conversation_id, [])
    return any(m.state is InboundState.WAITING for m in unanswered)


async def _draft_holding_lease(
    services: Services, conversation_id: int, lease_until: datetime
) -> Draft | None:
    store = services.store
    pending = await store.drafts_awaiting_decision(conversation_id)
    messages = await store.unanswered_messages(conversation_id, [d.id for d in pending])
    waiting = [m for m in messages if m.state is InboundState.WAITING]
    if not waiting:
        return None  # drafted already (a redelivery, or another replica's timer)
    external_id = message_key(max(m.message_id for m in waiting))
    draft = await store.draft_for_external_id(external_id)
    created = draft is None
    if draft is None:  # else: stored by a try that died before it finished below
        draft, logs = new_draft(
            services,
            await _draft_input(services, messages, external_id),
            messages=[m.id for m in messages],
        )
        # The customer has waited since the oldest message it answers (the CX tile's wait).
        waiting_since = min(m.received_at for m in messages)
        if not await store.store_conversation_draft(
            draft, logs, lease_until=lease_until, waiting_since=waiting_since
        ):
            return None  # the lease ran out mid-draft; its new holder drafts
    # A person may have answered in Chatwoot while this drafted: then no card is posted.
    newest = max(m.received_at for m in messages)
    draft = await chatwoot_work.retire_if_answered(services, draft, newest)
    if created and draft.retired is None:
        spawn_card(services, draft)
    answered_before = {m.draft_id for m in messages}
    for older in pending:  # only drafts this one answers for: not a breach card, say
        if older.id != draft.id and older.id in answered_before:
            await _supersede(services, older, draft)
    await store.assign_messages([m.id for m in messages], draft.id)
    await clear_incident(
        services,
        _incident(conversation_id),
        subject=f"conversation {conversation_id}",
        text=f":white_check_mark: Conversation #{conversation_id} is being drafted again.",
    )
    return draft


async def _draft_input(
    services: Services, messages: Sequence[InboundMessage], external_id: str
) -> DraftInput:
    newest = messages[-1]
    customer_message = "\n\n".join(m.content for m in messages)
    context = await ground(services, messages)
    proposal = await propose(services, newest.customer_name, customer_message, context)
    facts = context.order
    data = DraftInput(
        conversation_id=newest.conversation_id,
        customer_message=customer_message,
        draft=proposal.text[:MAX_DRAFT_CHARS],
        confidence=proposal.confidence,
        customer=Customer(
            name=newest.customer_name,
            email=newest.customer_email,
            email_verified=newest.email_verified if newest.customer_email else None,
        ),
        kb_sources=proposal.kb_sources,
        agent=proposal.agent,
        external_id=external_id,
        order=Order(id=facts.name.lstrip("#"), value_usd=usd(facts)) if facts else None,
        order_facts=facts,
        abstained=proposal.abstained,
    )
    flags = risk_flags(data, high_value_usd=services.settings.high_value_usd)
    return replace(data, confidence=calibrated(data.confidence, flags))


async def _supersede(services: Services, older: Draft, newer: Draft) -> None:
    log_row = decision_log.draft_entry(
        services, Action.DRAFT_SUPERSEDED, older, {"superseded_by": newer.id}
    )
    superseded = await services.store.supersede(
        older.id, by=newer.id, at=services.clock(), log=log_row
    )
    services.pending_drafts.forget(older.id)
    if superseded is not None and superseded.card is not None:
        services.background.spawn(
            surfaces.changed(services, surfaces.Event(Action.DRAFT_SUPERSEDED, superseded)),
            name=f"supersede-card-{older.id}",
        )


async def _failed(
    services: Services,
    conversation_id: int,
    lease_until: datetime,
    error: str,
    retry_at: datetime,
) -> None:
    store = services.store
    tries = await store.drafting_failed(
        conversation_id, lease_until=lease_until, error=error, retry_at=retry_at
    )
    if tries is None or tries < MAX_TRIES:
        return
    messages = [
        m for m in await store.inbound_messages(conversation_id) if m.state is InboundState.WAITING
    ]
    log_row = decision_log.entry(
        services,
        Action.DRAFT_FAILED,
        subject_id=messages[-1].id if messages else f"conversation-{conversation_id}",
        conversation_id=conversation_id,
        payload={"messages": [m.id for m in messages], "error": error, "tries": tries},
        outcome=Outcome.FAILED,
    )
    if not await store.give_up_drafting(
        conversation_id, [m.id for m in messages], error=error, log=log_row
    ):
        return
    where = services.conversation_url(conversation_id)
    answer = f"Answer the customer in Chatwoot: {where}" if where else "Answer them in Chatwoot."
    await raise_incident(
        services,
        _incident(conversation_id),
        subject=f"conversation {conversation_id}",
        detail=error,
        text=(
            f":rotating_light: No draft for conversation #{conversation_id}: drafting failed "
            f"{tries} times (last error: {escape(error[:200])}), so its "
            f"{len(messages)} message(s) are marked failed. {answer} {FIRST_STEP}"
        ),
    )


def usd(facts: OrderFacts) -> float | None:
    """The order's value for the risk rules, which judge US dollars."""
    return facts.total if facts.currency == "USD" else None


def _incident(conversation_id: int) -> str:
    return f"drafting:{conversation_id}"
