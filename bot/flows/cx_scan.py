"""The CX SLA scan: every open or pending Chatwoot conversation whose customer has waited past
`OCC_CX_SLA_MINUTES` without an agent's reply gets one card in the approvals channel, with the
last messages and a reply drafted from the knowledge base.

It reads only what can have breached: Chatwoot lists each status's conversations longest wait
first (``sort_by=waiting_since_asc``, nobody waiting last), and the read stops at the first
conversation within the SLA, since every one after it has waited less. A breach is exactly a
``waiting_since`` older than the SLA (`bot.rules.cx`), the field Chatwoot sorts by, so the stop
misses none. The pages are bounded by the list's own count at the server's page size; a read
that the bound cuts short cards what it found (the longest waits) and raises a reliability
incident, closed by the next scan that reads to its stop.

The scan runs once per window across replicas (the `cx-scan` job's run lease), and each
breach's card is a draft whose external id names the breach, so a breach is carded once
however many scans see it; the knowledge base is not asked again for a breach already carded.
A conversation with a card about the same wait (from the webhook or an earlier scan) still
waiting for a decision gets no second card.
Chatwoot failing makes the scan fail visibly (one reliability incident), and the next window
catches up, since breaches are read from Chatwoot's state, not from events.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.blocks.text import escape
from bot.domain import Action, Customer, CxBreach, DraftInput
from bot.draft_body import MAX_DRAFT_CHARS
from bot.flows.incidents import chatwoot_failed, clear_incident, dependency_ok, raise_incident
from bot.flows.intake import propose, receive
from bot.integrations.chatwoot import INCOMING, ChatwootClient, conversation_lines
from bot.integrations.chatwoot_answers import ChatwootError
from bot.rules.cx import WAITING_STATUSES, breach_id, breached, waiting_since
from bot.runtime.batch import each
from bot.services import Services

log = logging.getLogger("occ.cx_scan")

LAST_LINES = 5
CUT_SHORT = "cx-scan:cut-short"  # the incident of a scan whose page bound ended its read


class ScanFailed(Exception):
    """Chatwoot could not be read; nothing was carded from a partial read."""


async def scan(services: Services) -> str:
    chatwoot = services.chatwoot
    if chatwoot is None:
        return "Chatwoot is not configured: nothing to scan"
    now = services.clock()
    try:
        waiting, pages, cut_short = await _breached_conversations(
            chatwoot, now, services.settings.cx_sla_minutes
        )
    except ChatwootError as error:
        await services.store.record_read("chatwoot", at=services.clock(), error=str(error))
        await chatwoot_failed(services, error, "CX SLA scan")
        raise ScanFailed(f"could not read Chatwoot's open conversations: {error}") from error
    await services.store.record_read("chatwoot", at=services.clock())
    await dependency_ok(services, "chatwoot")
    by_id = {str(c["id"]): c for c in waiting}
    tally = await each(
        list(by_id), lambda key: card_breach(services, chatwoot, by_id[key]), what="CX breach in"
    )
    read = f"{pages} pages of the conversation list read, longest wait first"
    if cut_short:
        await _cut_short(services, cut_short)
        read += f"; cut short ({'; '.join(cut_short)}): later breaches wait for the next scan"
    else:
        await clear_incident(
            services,
            CUT_SHORT,
            subject="cx-scan",
            text=":white_check_mark: The CX scan reads every breach in Chatwoot again.",
        )
    return f"{len(by_id)} breached conversations ({read}); {tally.describe('cards')}"


async def _breached_conversations(
    chatwoot: ChatwootClient, now: datetime, sla_minutes: float
) -> tuple[list[Mapping[str, Any]], int, list[str]]:
    """The breached conversations, longest wait first, the pages read and, if the page
    bound ended a read, why."""
    found: list[Mapping[str, Any]] = []
    pages, cut_short = 0, []
    for status in WAITING_STATUSES:
        read = await chatwoot.longest_waiting(status, lambda c: breached(c, now, sla_minutes))
        found += read.conversations
        pages += read.pages
        if read.cut_short:
            cut_short.append(read.cut_short)
    return found, pages, cut_short


async def _cut_short(services: Services, why: list[str]) -> None:
    detail = "; ".join(why)
    log.warning("CX scan cut short: %s", detail)
    await raise_incident(
        services,
        CUT_SHORT,
        subject="cx-scan",
        detail=detail[:200],
        text=f":warning: The CX scan stopped at its page bound ({escape(detail)}). The longest "
        "waits were carded; later breaches wait for the next scan. Chatwoot's list grew "
        "faster than it was read, or its pages repeat. First step: run `occ-bot jobs run "
        "cx-scan` and compare its pages with Chatwoot's conversation count.",
    )


async def card_breach(
    services: Services, chatwoot: ChatwootClient, conversation: Mapping[str, Any]
) -> bool:
    """Card one breach unless it is carded already; True if this call carded it."""
    conversation_id = int(conversation["id"])
    since = waiting_since(conversation)
    assert since is not None  # only breached conversations come here
    if await services.store.pending_draft_for_conversation(conversation_id, since=since):
        return False  # a card about this very wait is already in front of the operators
    messages = await chatwoot.list_messages(conversation_id)
    incoming = [
        m["id"]
        for m in messages
        if m.get("message_type") == INCOMING and isinstance(m.get("id"), int)
    ]
    key = breach_id(conversation_id, since, max(incoming, default=None))
    if await services.store.draft_for_external_id(key) is not None:
        return False
    lines = conversation_lines(messages)
    waiting = [line.text for line in lines if line.from_customer and line.at >= since]
    customer_message = "\n".join(waiting) or (lines[-1].text if lines else "")
    sender = (conversation.get("meta") or {}).get("sender") or {}
    name = sender.get("name") if isinstance(sender.get("name"), str) else None
    email = sender.get("email") if isinstance(sender.get("email"), str) else None
    proposal = await propose(services, name, customer_message or "(no text)")
    data = DraftInput(
        conversation_id=conversation_id,
        customer_message=customer_message or "(the customer's message has no text)",
        draft=proposal.text[:MAX_DRAFT_CHARS],
        confidence=proposal.confidence,
        customer=Customer(name=name, email=email),
        kb_sources=proposal.kb_sources,
        agent=proposal.agent,
        external_id=key,
        breach=CxBreach(waiting_since=since, lines=tuple(lines[-LAST_LINES:])),
        abstained=proposal.abstained,
    )
    waited = round((services.clock() - since).total_seconds())
    why = (
        Action.CX_SLA_BREACHED,
        {
            "breach": key,
            "waiting_since": since.isoformat(),
            "waited_seconds": waited,
            "sla_minutes": services.settings.cx_sla_minutes,
        },
    )
    _, created = await receive(services, data, why=why)
    return created
