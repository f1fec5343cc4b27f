"""Sales Pulse's cross-modal step: customers whose paid orders are delayed hear it from us first.

For a fulfillment delay, each affected order's customer is looked for among the open and
pending Chatwoot conversations (by the contact's email). Each conversation found gets, once
per order:

- an internal note naming the order and how late it is (through the Chatwoot outbox, so it
  is delivered once and retried when Chatwoot fails), and
- an ordinary draft card in the approvals channel offering a proactive message drafted from
  the knowledge base, for an operator to approve, edit or reject like any other.

Both are keyed by order and conversation, so every run while the delay lasts (and every
replica) reaches a customer once, and a run that Chatwoot failed is made up by the next.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bot.domain import Action, Affected, Customer, DraftInput, Finding, MessageKind
from bot.draft_body import MAX_DRAFT_CHARS
from bot.flows import outbox
from bot.flows.intake import propose, receive
from bot.integrations.chatwoot import ChatwootClient
from bot.services import Services

log = logging.getLogger("occ.sales")

STATUSES = ("open", "pending")
MAX_PAGES = 40  # per status: 1,000 conversations
AGENT = "Sales Pulse (proactive: fulfillment delay)"


async def reach_out(services: Services, alert_id: str, finding: Finding) -> tuple[int, int]:
    """Note and card every affected customer's open conversations; (notes, cards) queued
    now. Raises ChatwootError when Chatwoot cannot be read (the next run tries again)."""
    chatwoot = services.chatwoot
    by_email = {a.email.lower(): a for a in finding.affected if a.email}
    if chatwoot is None or not by_email:
        return 0, 0
    notes = cards = 0
    for conversation in await _open_conversations(chatwoot):
        sender = (conversation.get("meta") or {}).get("sender") or {}
        email = sender.get("email")
        order = by_email.get(email.lower()) if isinstance(email, str) else None
        if order is None:
            continue
        conversation_id = int(conversation["id"])
        name = sender.get("name") if isinstance(sender.get("name"), str) else None
        if await _note(services, alert_id, order, conversation_id):
            notes += 1
        if await _offer(services, alert_id, order, conversation_id, name, email):
            cards += 1
    return notes, cards


async def _open_conversations(chatwoot: ChatwootClient) -> list[Mapping[str, Any]]:
    return [
        c
        for status in STATUSES
        async for c in chatwoot.conversations(status=status, max_pages=MAX_PAGES)
    ]


async def _note(services: Services, alert_id: str, order: Affected, conversation_id: int) -> bool:
    content = (
        f"Sales Pulse: this customer's order {order.label} is delayed ({order.detail}). "
        f"A proactive message is offered to the operators in Slack. Shopify: {order.url}"
    )
    message = outbox.new_message(
        services,
        subject_id=alert_id,
        conversation_id=conversation_id,
        kind=MessageKind.NOTE,
        content=content,
        action=Action.SALES_CUSTOMER_NOTED,
        actor="system",
        message_id=f"out_delay_{_key(order, conversation_id)}",
    )
    queued = await services.store.queue_outbox_message(message)
    if queued is None:
        return False  # noted on an earlier run
    await outbox.send_leased(services, queued)
    return True


async def _offer(
    services: Services,
    alert_id: str,
    order: Affected,
    conversation_id: int,
    name: str | None,
    email: str,
) -> bool:
    external_id = f"sales-delay:{_key(order, conversation_id)}"
    if await services.store.draft_for_external_id(external_id) is not None:
        return False
    question = f"My order {order.label} has not shipped yet. When will it ship?"
    proposal = await propose(services, name, question)
    data = DraftInput(
        conversation_id=conversation_id,
        customer_message=(
            f"(No message from the customer: their paid order {order.label} is delayed, "
            f"{order.detail}. Send this so they hear it from us first.)"
        ),
        draft=proposal.text[:MAX_DRAFT_CHARS],
        confidence=proposal.confidence,
        customer=Customer(name=name, email=email),
        kb_sources=proposal.kb_sources,
        agent=AGENT,
        external_id=external_id,
        abstained=proposal.abstained,
    )
    why = (
        Action.SALES_PROACTIVE_OFFERED,
        {"alert_id": alert_id, "order": order.label, "order_url": order.url},
    )
    _, created = await receive(services, data, why=why)
    return created


def _key(order: Affected, conversation_id: int) -> str:
    number = order.url.rsplit("/", 1)[-1] if order.url else order.label.lstrip("#")
    return f"{number}_{conversation_id}"
