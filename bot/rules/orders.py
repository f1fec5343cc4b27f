"""An order's facts as short lines of plain text, the same in the drafting prompt and on the
approval card (so what the model was told is what the operator sees), and the day format
they use. Shared by bot/drafting and bot/blocks, which may not import each other."""

from __future__ import annotations

from datetime import datetime

from bot.domain import OrderFacts


def order_summary(facts: OrderFacts) -> list[str]:
    """The order's facts as short lines of plain text: what the prompt and the card show."""
    status = facts.fulfillment_status.replace("_", " ").lower()
    paid = f", {facts.financial_status.replace('_', ' ').lower()}" if facts.financial_status else ""
    lines = [
        f"Order {facts.name}, placed {day(facts.placed_at)}: {status}{paid}, "
        f"total {facts.total:,.2f} {facts.currency}"
    ]
    if facts.cancelled_at is not None:
        lines.append(f"Cancelled {day(facts.cancelled_at)}")
    if facts.items:
        lines.append(
            "Items: " + ", ".join(f"{quantity} × {title}" for title, quantity in facts.items)
        )
    for shipment in facts.shipments:
        parts = [
            f"Shipped {day(shipment.shipped_at)} ({shipment.status.replace('_', ' ').lower()})"
        ]
        if shipment.carrier or shipment.tracking_number:
            carrier = shipment.carrier or "carrier"
            parts.append(f"{carrier} tracking {shipment.tracking_number or 'not given'}")
        if shipment.tracking_url:
            parts.append(shipment.tracking_url)
        if shipment.delivered_at is not None:
            parts.append(f"delivered {day(shipment.delivered_at)}")
        elif shipment.estimated_delivery_at is not None:
            parts.append(f"estimated delivery {day(shipment.estimated_delivery_at)}")
        lines.append(", ".join(parts))
    if not facts.shipments and facts.cancelled_at is None:
        lines.append("Not shipped yet")
    return lines


def day(when: datetime) -> str:
    """Nov 22, 2026"""
    return f"{when:%b} {when.day}, {when.year}"
