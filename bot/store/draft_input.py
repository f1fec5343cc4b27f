"""A draft's ``input`` JSON column: what the draft was made from (`DraftInput`), as a document.

Everything of a `DraftInput` lives in the document except ``conversation_id`` and
``external_id``, which are the draft's own columns because they are queried
(`bot.store.drafts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from bot.domain import (
    ConversationLine,
    Customer,
    CustomerContext,
    CxBreach,
    DraftInput,
    KbSource,
    Order,
    OrderFacts,
    Risk,
    Shipment,
)
from bot.store.codec import opt_iso, parse_ts, required_ts, utc


def input_json(data: DraftInput) -> dict[str, Any]:
    return {
        "customer_message": data.customer_message,
        "draft": data.draft,
        "confidence": data.confidence,
        "customer": asdict(data.customer),
        "kb_sources": [asdict(source) for source in data.kb_sources],
        "risk": data.risk.value,
        "agent": data.agent,
        "order": asdict(data.order) if data.order else None,
        "amount_usd": data.amount_usd,
        "customer_context": asdict(data.customer_context) if data.customer_context else None,
        "breach": _breach_json(data.breach),
        "order_facts": _order_facts_json(data.order_facts),
        "abstained": data.abstained,
    }


def input_from(doc: Mapping[str, Any], conversation_id: int, external_id: str | None) -> DraftInput:
    order = doc.get("order")
    context = doc.get("customer_context")
    return DraftInput(
        conversation_id=int(conversation_id),
        customer_message=doc["customer_message"],
        draft=doc["draft"],
        confidence=float(doc["confidence"]),
        customer=Customer(**(doc.get("customer") or {})),
        kb_sources=tuple(KbSource(**source) for source in doc.get("kb_sources") or ()),
        risk=Risk(doc.get("risk", Risk.LOW.value)),
        agent=doc.get("agent"),
        order=Order(**order) if order else None,
        amount_usd=doc.get("amount_usd"),
        customer_context=CustomerContext(**context) if context else None,
        external_id=external_id,
        breach=_breach_from(doc.get("breach")),
        order_facts=_order_facts_from(doc.get("order_facts")),
        abstained=doc.get("abstained"),
    )


def _order_facts_json(facts: OrderFacts | None) -> dict[str, Any] | None:
    if facts is None:
        return None
    return {
        "name": facts.name,
        "placed_at": utc(facts.placed_at).isoformat(),
        "fulfillment_status": facts.fulfillment_status,
        "financial_status": facts.financial_status,
        "total": facts.total,
        "currency": facts.currency,
        "items": [list(item) for item in facts.items],
        "shipments": [
            {
                "status": s.status,
                "shipped_at": utc(s.shipped_at).isoformat(),
                "carrier": s.carrier,
                "tracking_number": s.tracking_number,
                "tracking_url": s.tracking_url,
                "estimated_delivery_at": opt_iso(s.estimated_delivery_at),
                "delivered_at": opt_iso(s.delivered_at),
            }
            for s in facts.shipments
        ],
        "cancelled_at": opt_iso(facts.cancelled_at),
    }


def _order_facts_from(doc: Mapping[str, Any] | None) -> OrderFacts | None:
    if not doc:
        return None
    return OrderFacts(
        name=doc["name"],
        placed_at=required_ts(doc["placed_at"]),
        fulfillment_status=doc["fulfillment_status"],
        financial_status=doc.get("financial_status"),
        total=float(doc["total"]),
        currency=doc["currency"],
        items=tuple((str(title), int(quantity)) for title, quantity in doc.get("items") or ()),
        shipments=tuple(
            Shipment(
                status=s["status"],
                shipped_at=required_ts(s["shipped_at"]),
                carrier=s.get("carrier"),
                tracking_number=s.get("tracking_number"),
                tracking_url=s.get("tracking_url"),
                estimated_delivery_at=parse_ts(s.get("estimated_delivery_at")),
                delivered_at=parse_ts(s.get("delivered_at")),
            )
            for s in doc.get("shipments") or ()
        ),
        cancelled_at=parse_ts(doc.get("cancelled_at")),
    )


def _breach_json(breach: CxBreach | None) -> dict[str, Any] | None:
    if breach is None:
        return None
    return {
        "waiting_since": utc(breach.waiting_since).isoformat(),
        "lines": [
            {
                "from_customer": line.from_customer,
                "author": line.author,
                "text": line.text,
                "at": utc(line.at).isoformat(),
            }
            for line in breach.lines
        ],
    }


def _breach_from(doc: Mapping[str, Any] | None) -> CxBreach | None:
    if not doc:
        return None
    return CxBreach(
        waiting_since=required_ts(doc["waiting_since"]),
        lines=tuple(
            ConversationLine(
                from_customer=bool(line["from_customer"]),
                author=line.get("author"),
                text=line["text"],
                at=required_ts(line["at"]),
            )
            for line in doc.get("lines") or ()
        ),
    )
