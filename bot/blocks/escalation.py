"""The escalation message in the managers' channel: what, how urgent, for whom, and who has it.

OPEN offers Claim; CLAIMED shows the claimer and offers Resolve; RESOLVED offers nothing (the
buttons' specs: `bot.rules.buttons`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from bot.blocks import kit
from bot.blocks import text as t
from bot.blocks.card import customer_context_fact, spec_buttons
from bot.blocks.labels import (
    BAND_BADGE,
    ESCALATION_TYPE_LABEL,
    RISK_BADGE,
    URGENCY_BADGE,
    URGENCY_EMOJI,
    URGENCY_LABEL,
)
from bot.blocks.resolution import resolution_status
from bot.domain import Draft, Escalation, EscalationState, Urgency
from bot.rules.buttons import ESCALATION_BUTTONS
from bot.rules.risk import ALWAYS_ESCALATE, confidence_band, overall_risk
from bot.rules.sla import DEFAULT_SLA_MINUTES, minutes_between, sla_verdict

NAME_MAX = 100
EMAIL_MAX = 120
ORDER_ID_MAX = 40
MESSAGE_EXCERPT = 800
NOTES_MAX = 2500
FLAG_REASON_MAX = 240


def escalation_message(
    esc: Escalation,
    draft: Draft,
    *,
    conversation_url: str | None,
    sla_minutes: Mapping[Urgency, float] = DEFAULT_SLA_MINUTES,
    now: datetime | None = None,
    mentions: str = "",
    with_level: str = "",
) -> list[dict]:
    """Blocks for an escalation in its current state.

    Args:
        esc: the stored escalation.
        draft: the draft it was raised from (customer, message, risk).
        conversation_url: link to the Chatwoot conversation, if known.
        sla_minutes: claim SLA per urgency, printed next to the urgency.
        now: when it is drawn; an open escalation past its deadline shows how late it is.
        mentions: who is called on it at once (the managers, for an Urgent one).
        with_level: where the escalation chain has it now, once it has moved up.
    """
    data = draft.input
    blocks = [
        kit.header(f"{URGENCY_BADGE[esc.urgency]} escalation · {ESCALATION_TYPE_LABEL[esc.type]}"),
    ]
    if mentions and esc.state is EscalationState.OPEN:
        blocks.append(kit.section(f"📣 {mentions}: please claim this within its SLA."))
    blocks += [
        kit.fields(_facts(esc, draft, conversation_url, sla_minutes)),
        kit.section(f"*Customer message*\n{t.quote(data.customer_message, MESSAGE_EXCERPT)}"),
    ]
    notes = esc.notes.strip()
    if notes:
        blocks.append(kit.section(f"*Notes*\n{t.quote(notes, NOTES_MAX)}"))
    if draft.flags:
        lines = [
            f"{'⛔' if f.kind in ALWAYS_ESCALATE else '⚠️'} {t.inline(f.reason, FLAG_REASON_MAX)}"
            for f in draft.flags
        ]
        blocks.append(kit.section("*Risk flags*\n" + "\n".join(lines)))
    blocks.append(kit.divider())
    blocks.append(kit.section(_status_text(esc, now, with_level)))
    buttons = spec_buttons(ESCALATION_BUTTONS, esc, esc.id)
    if buttons:
        blocks.append(kit.actions(*buttons, block_id="escalation_actions"))
    return blocks


def escalation_text(esc: Escalation, draft: Draft, mentions: str = "") -> str:
    """Notification/fallback text for the escalation message (mentions here notify)."""
    name = t.inline(draft.input.customer.name or "a customer", NAME_MAX)
    text = (
        f"{URGENCY_BADGE[esc.urgency]} escalation ({ESCALATION_TYPE_LABEL[esc.type]}) for {name}, "
        f"conversation #{draft.input.conversation_id}"
    )
    if mentions:
        text = f"{mentions} {text}"
    if esc.state is EscalationState.CLAIMED:
        text += " — claimed"
    elif esc.state is EscalationState.RESOLVED:
        text += " — resolved"
    return text


def _facts(
    esc: Escalation, draft: Draft, conversation_url: str | None, sla: Mapping[Urgency, float]
) -> list[str]:
    data = draft.input
    urgency = f"{URGENCY_EMOJI[esc.urgency]} {URGENCY_LABEL[esc.urgency]}"
    if esc.urgency in sla:
        urgency += f" — claim within {t.format_minutes(sla[esc.urgency])}"
    customer = t.inline(data.customer.name, NAME_MAX) if data.customer.name else "_unknown_"
    if data.customer.email:
        customer += "\n" + t.inline(data.customer.email, EMAIL_MAX)
    conversation = f"#{data.conversation_id}"
    if conversation_url:
        conversation = t.link(conversation_url, f"#{data.conversation_id} in Chatwoot")
    risk = RISK_BADGE[overall_risk(data.risk, draft.flags)]
    band = BAND_BADGE[confidence_band(data.confidence)]
    facts = [
        f"*Urgency*\n{urgency}",
        f"*Claim by*\n{t.slack_date(esc.due_at)}",
        f"*Type*\n{ESCALATION_TYPE_LABEL[esc.type]}",
        f"*Escalated by*\n{t.mention(esc.escalated_by)} {t.slack_date(esc.created_at)}",
        f"*Customer*\n{customer}",
        f"*Conversation*\n{conversation}",
        f"*Risk · draft confidence*\n{risk} · {t.percent(data.confidence)} ({band})",
    ]
    order_parts = []
    if data.order is not None and data.order.id:
        order_parts.append(f"#{t.inline(data.order.id, ORDER_ID_MAX)}")
    if data.order is not None and data.order.value_usd is not None:
        order_parts.append(t.money(data.order.value_usd))
    if data.amount_usd is not None:
        order_parts.append(f"{t.money(data.amount_usd)} at stake")
    if order_parts:
        facts.append("*Order*\n" + " · ".join(order_parts))
    context = customer_context_fact(data.customer_context)
    if context is not None:
        facts.append(context)
    return facts


def _status_text(esc: Escalation, now: datetime | None, with_level: str) -> str:
    claimed_by = ""
    if esc.claimed_by:
        when = f" {t.slack_date(esc.claimed_at)}" if esc.claimed_at else ""
        claimed_by = f"by {t.mention(esc.claimed_by)}{when}"
        if esc.claimed_at is not None:
            claimed_by += f", {sla_verdict(esc.claimed_at, esc.due_at)}"
    if esc.state is EscalationState.RESOLVED:
        when = f" {t.slack_date(esc.resolved_at)}" if esc.resolved_at else ""
        who = t.mention(esc.resolved_by) if esc.resolved_by else "a manager"
        resolved = f"✅ *Resolved* by {who}{when}"
        if claimed_by:
            resolved += f"\nClaimed {claimed_by}."
        if esc.resolution is not None:
            resolved += f"\n{resolution_status(esc.resolution)}"
        return resolved
    if esc.state is EscalationState.CLAIMED:
        return f"🙋 *Claimed* {claimed_by}".rstrip()
    reminded = ""
    if esc.reminders_sent:
        reminded = f" Reminded {esc.reminders_sent} time{'s' if esc.reminders_sent > 1 else ''}."
    if with_level:
        reminded += f" Now with {with_level}."
    if now is not None and now >= esc.due_at:
        return (
            f"🚨 *Overdue*: unclaimed {t.lateness(minutes_between(esc.due_at, now))} "
            f"(deadline {t.slack_date(esc.due_at)}).{reminded}"
        )
    return f"⏱️ *Open* — waiting for a manager to claim it by {t.slack_date(esc.due_at)}.{reminded}"
