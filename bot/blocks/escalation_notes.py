"""The escalation notes pre-filled in the Escalate modal, in the structure the training guide
teaches (demo scenario 3): type, urgency, customer, order, issue summary, reason, actions,
customer context, suggested resolution."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bot.blocks.labels import ESCALATION_TYPE_LABEL
from bot.domain import DraftInput, EscalationType, RiskFlag, Urgency
from bot.rules.risk import TYPE_OF_KIND, suggested_escalation_type, suggested_urgency
from bot.rules.sla import DEFAULT_SLA_MINUTES

NOTES_MAX_CHARS = 3000  # Slack plain_text_input max_length; notes stay strictly below it
SUMMARY_MAX_CHARS = 600


def escalation_notes_template(
    draft: DraftInput,
    flags: Iterable[RiskFlag],
    *,
    draft_id: str,
    sla_minutes: Mapping[Urgency, float] = DEFAULT_SLA_MINUTES,
) -> str:
    """Escalation notes pre-filled in the structure the seed teaches (demo scenario 3).

    The result is always shorter than NOTES_MAX_CHARS; the customer's message is cut with a
    visible "…" to make room.
    """
    flags = tuple(flags)
    urgency = suggested_urgency(flags)
    head = _notes_head(draft, flags, draft_id=draft_id, urgency=urgency, sla_minutes=sla_minutes)
    tail = _notes_tail(draft, flags)
    room = NOTES_MAX_CHARS - 1 - len(head) - len(tail)
    summary = _shorten(draft.customer_message, min(SUMMARY_MAX_CHARS, max(room, 0)))
    return _clip(head + summary + tail, NOTES_MAX_CHARS - 1)


def _usd(value: float) -> str:
    if value == int(value):
        return f"${value:,.0f}"
    return f"${value:,.2f}"


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    if limit <= 1:
        return "…"[:limit]
    return text[: limit - 1].rstrip() + "…"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _notes_head(
    draft: DraftInput,
    flags: tuple[RiskFlag, ...],
    *,
    draft_id: str,
    urgency: Urgency,
    sla_minutes: Mapping[Urgency, float],
) -> str:
    primary = suggested_escalation_type(flags)
    types = [primary]
    for flag in flags:
        kind_type = TYPE_OF_KIND.get(flag.kind)
        if kind_type is not None and kind_type not in types and kind_type != EscalationType.OTHER:
            types.append(kind_type)
    type_line = " + ".join(ESCALATION_TYPE_LABEL[t] for t in types)
    minutes = sla_minutes.get(urgency)
    sla = f" ({minutes:g}-minute SLA)" if minutes else ""
    customer = draft.customer
    name = _shorten(customer.name or "unknown", 120)
    email = f" ({_shorten(customer.email, 120)})" if customer.email else ""
    order = draft.order
    if order is None or (order.id is None and order.value_usd is None):
        order_line = "none"
    else:
        order_id = f"#{_shorten(order.id, 60)}" if order.id else "(no id)"
        value = f" ({_usd(order.value_usd)})" if order.value_usd is not None else ""
        order_line = order_id + value
    lines = [
        f"ESCALATION TYPE: {type_line}",
        f"URGENCY: {urgency.value.upper()}{sla}",
        "",
        f"CUSTOMER: {name}{email}",
        f"CONVERSATION ID: #{draft.conversation_id}",
        f"DRAFT ID: {_shorten(draft_id, 80)}",
        f"ORDER: {order_line}",
    ]
    if draft.amount_usd is not None:
        lines.append(f"AMOUNT AT STAKE: {_usd(draft.amount_usd)}")
    lines += ["", "ISSUE SUMMARY:", ""]
    return "\n".join(lines)


def _notes_tail(draft: DraftInput, flags: tuple[RiskFlag, ...]) -> str:
    reasons = [f"{i}. {flag.reason}" for i, flag in enumerate(flags, start=1)] or ["1. "]
    context = draft.customer_context
    if context is None or (context.orders is None and context.lifetime_value_usd is None):
        context_lines = ["- Order history: not available"]
    else:
        orders = f"{context.orders} orders" if context.orders is not None else "orders unknown"
        value = (
            f"{_usd(context.lifetime_value_usd)} lifetime value"
            if context.lifetime_value_usd is not None
            else "lifetime value unknown"
        )
        context_lines = [f"- Order history: {orders}, {value}"]
    lines = [
        "",
        "",
        "REASON FOR ESCALATION:",
        *reasons,
        "",
        "IMMEDIATE ACTIONS NEEDED:",
        "1. ",
        "2. ",
        "3. ",
        "",
        "CUSTOMER CONTEXT:",
        *context_lines,
        "",
        "SUGGESTED RESOLUTION:",
        "",
    ]
    return "\n".join(lines)
