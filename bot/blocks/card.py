"""The approval card: one draft as a Block Kit message, drawn from its current state.

A pending card offers Approve / Edit / Reject / Escalate. Once decided, the same card shows
who decided, when, and what happened to the reply (sending, sent with the exact text, failed
and retrying, recorded); the four decision buttons never come back. Which buttons a card shows,
and how, is their specs' (`bot.rules.buttons`).

The short parts of the card are capped one by one; the long texts (the customer's message,
the draft, the text sent, notes) share what is left of Slack's 12,000-character budget.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from bot.blocks import kit
from bot.blocks import text as t
from bot.blocks.card_chatwoot import assignee_note, done_in_chatwoot, retired_status
from bot.blocks.card_corrections import shown_corrections
from bot.blocks.labels import (
    BAND_BADGE,
    ESCALATION_TYPE_LABEL,
    REJECT_REASON_LABEL,
    RISK_BADGE,
    URGENCY_BADGE,
)
from bot.domain import (
    RESOLVED_REASONS,
    Assignee,
    CustomerContext,
    CxBreach,
    Decision,
    DecisionKind,
    DeliveryStatus,
    Draft,
    DraftState,
    Escalation,
    KbSource,
    OrderFacts,
    OutboxMessage,
)
from bot.rules.buttons import CARD_BUTTONS, Button, Card, drawn
from bot.rules.orders import order_summary
from bot.rules.risk import ALWAYS_ESCALATE, confidence_band, overall_risk
from bot.rules.sla import minutes_between
from bot.scenarios import training_scenario

NAME_MAX = 100
TITLE_MAX = 100
EMAIL_MAX = 120
AGENT_MAX = 80
ORDER_ID_MAX = 40
KB_TITLE_MAX = 80
KB_VERSION_MAX = 20
KB_SOURCES_SHOWN = 8
FLAG_REASON_MAX = 240
BREACH_LINES = 5  # the last messages a CX breach card shows
LINE_MAX = 400
ORDER_LINE_MAX = 300
ABSTAINED_MAX = 300
ORDER_LINES = 8
SUPERSEDED_NOTE = (
    "*Superseded:* the customer wrote again, and a newer draft that answers all their "
    "messages replaced this one."
)
ERROR_MAX = 300
CARD_NOTES_MAX = 1000
NOTIFICATION_EXCERPT = 120

MESSAGE, DRAFT, FINAL, NOTES = "message", "draft", "final", "notes"

S = TypeVar("S")


def draft_card(
    draft: Draft,
    *,
    conversation_url: str | None,
    chatwoot_enabled: bool,
    managers_only: bool,
    escalation: Escalation | None = None,
    assignee: Assignee | None = None,
    corrections: Sequence[OutboxMessage] = (),
) -> list[dict]:
    """Blocks for the draft's card in its current state.

    Args:
        draft: the stored draft (state, decision and reply status are all read).
        conversation_url: link to the Chatwoot conversation, if known.
        chatwoot_enabled: False when replies are recorded, not sent; the card says so.
        managers_only: True when policy reserves Approve/Edit for managers (a note is shown).
        escalation: the escalation an ESCALATED draft went to, for its urgency and type.
        assignee: the person the conversation is assigned to in Chatwoot (a waiting card
            says who is on it).
        corrections: those sent after its reply, oldest first (shown under the sent text).
    """
    long_texts = _long_texts(draft, escalation, corrections)

    def build(limits: Mapping[str, int]) -> list[dict]:
        return _blocks(
            draft,
            long_texts,
            limits,
            conversation_url=conversation_url,
            chatwoot_enabled=chatwoot_enabled,
            managers_only=managers_only,
            escalation=escalation,
            assignee=assignee,
        )

    fixed = t.text_length(build(dict.fromkeys(long_texts, 0)))
    keys = list(long_texts)
    wants = [len(t.quote(long_texts[k][1], _cap(k, long_texts[k][0]))) for k in keys]
    grants = t.share_budget(t.MESSAGE_TEXT_BUDGET - fixed, wants)
    return build(dict(zip(keys, grants, strict=True)))


def draft_card_text(draft: Draft) -> str:
    """The message's notification/fallback text: who, the gist, and where the draft stands."""
    name = t.inline(draft.input.customer.name or "a customer", NAME_MAX)
    excerpt = t.inline(draft.input.customer_message, NOTIFICATION_EXCERPT)
    training = "TRAINING: " if draft.training is not None else ""
    if draft.state is DraftState.PENDING and draft.input.abstained:
        return f"{training}AI abstained on a reply for {name}: “{excerpt}”"
    if draft.state is DraftState.PENDING:
        band = confidence_band(draft.input.confidence)
        return (
            f"{training}New draft reply for {name} ({t.percent(draft.input.confidence)}, "
            f"{band.value} confidence): “{excerpt}”"
        )
    return f"{training}Draft reply for {name}: {_outcome_word(draft)}"


# --- layout ----------------------------------------------------------------------------------


def _blocks(
    draft: Draft,
    long_texts: Mapping[str, tuple[str, str]],
    limits: Mapping[str, int],
    *,
    conversation_url: str | None,
    chatwoot_enabled: bool,
    managers_only: bool,
    escalation: Escalation | None,
    assignee: Assignee | None,
) -> list[dict]:
    pending = draft.state is DraftState.PENDING
    if draft.training is not None:
        blocks = [kit.header(f"🎓 TRAINING · {_headline(draft)}"), _training_note(draft)]
    else:
        blocks = [kit.header(f"{_headline(draft)} · conversation #{draft.input.conversation_id}")]
    blocks.append(kit.fields(_facts(draft, conversation_url)))
    if draft.input.breach is not None:
        blocks += _breach_blocks(draft, draft.input.breach)
    if draft.input.order_facts is not None:
        blocks.append(kit.section(_order_text(draft.input.order_facts)))
    flags = _flags_text(draft)
    if flags:
        blocks.append(kit.section(flags))
    notes = []
    if pending and managers_only:
        notes.append("🔒 *Approve/Edit reserved for managers* — escalate or ask a manager.")
    if pending and not chatwoot_enabled and draft.training is None:
        notes.append("📝 Chatwoot not configured — replies will be recorded, not sent.")
    if pending and assignee is not None:
        notes.append(assignee_note(assignee))
    if notes:
        blocks.append(kit.context(*notes))
    if draft.input.abstained:
        why = t.inline(draft.input.abstained, ABSTAINED_MAX)
        blocks.append(kit.section(f"🤖 *AI abstained:* {why}. Nothing was drafted."))
    for key in (MESSAGE, DRAFT):
        if key in long_texts:
            blocks += _long_section(key, long_texts[key], limits[key])
    blocks.append(kit.section(_kb_text(draft.input.kb_sources)))
    blocks.append(kit.divider())
    buttons = spec_buttons(CARD_BUTTONS, Card.of(draft, chatwoot=chatwoot_enabled), draft.id)
    if pending:
        blocks.append(kit.actions(*buttons, block_id="draft_actions"))
        return blocks
    blocks.append(kit.section(_status_text(draft, escalation)))
    for key in long_texts:  # the sent text and its corrections, or the notes
        if key not in (MESSAGE, DRAFT):
            blocks += _long_section(key, long_texts[key], limits[key])
    if buttons:  # Retry, for a reply not sent
        blocks.append(kit.actions(*buttons, block_id="reply_actions"))
    return blocks


def spec_buttons(buttons: Iterable[Button[S]], subject: S, value: str) -> list[dict[str, Any]]:
    """The buttons `subject` shows, as their specs draw them, each carrying `value` (the id of
    the draft or escalation it acts on)."""
    return [
        kit.button(look.label, b.action_id, value, style=look.style.value if look.style else None)
        for b, look in drawn(buttons, subject)
    ]


def _long_texts(
    draft: Draft, escalation: Escalation | None, corrections: Sequence[OutboxMessage]
) -> dict[str, tuple[str, str]]:
    """The long, untrusted texts this state shows, in order: key -> (mrkdwn label, raw)."""
    texts = {MESSAGE: ("*Customer message*", draft.input.customer_message)}
    decision = draft.decision
    if draft.state is DraftState.APPROVED and decision is not None:
        final = decision.final_text if decision.final_text is not None else draft.input.draft
        if _edited(draft, decision) and draft.input.draft:
            texts[DRAFT] = ("*Original draft*", draft.input.draft)
            texts[FINAL] = (f"*{_final_label(draft.reply.status)}* (edited by the operator)", final)
        else:
            texts[FINAL] = (f"*{_final_label(draft.reply.status)}*", final)
        for key, label, correction in shown_corrections(corrections):
            texts[key] = (label, correction.content)
        return texts
    if draft.input.draft:
        texts[DRAFT] = ("*Draft reply*", draft.input.draft)
    notes = decision.notes if decision is not None else None
    if draft.state is DraftState.ESCALATED and not notes and escalation is not None:
        notes = escalation.notes
    if notes and draft.state in (DraftState.REJECTED, DraftState.ESCALATED):
        texts[NOTES] = ("*Notes*", notes)
    return texts


def _cap(key: str, label: str) -> int:
    cap = t.SECTION_TEXT_MAX - len(label) - 1
    return min(cap, CARD_NOTES_MAX) if key == NOTES else cap


def _long_section(key: str, label_and_text: tuple[str, str], limit: int) -> list[dict]:
    """The text as a quote; when it had to be cut, a line saying so (and that a reply cut
    here still goes out whole)."""
    label, raw = label_and_text
    shown = t.quote(raw, limit)
    section = kit.section(f"{label}\n{shown}")
    # (limit 0 is how draft_card measures what is fixed: count the note in, to be safe)
    cut = bool(raw) and (limit == 0 or shown.endswith(t.ELLIPSIS))
    if not cut or key == NOTES:
        return [section]
    whole = f"{len(raw):,} characters"
    if key == MESSAGE:
        note = f"✂️ Shown cut: the message is {whole}; read it whole in Chatwoot."
    else:
        note = f"✂️ Shown cut: the reply is {whole}, and the customer gets all of it."
    return [section, kit.context(note)]


def _headline(draft: Draft) -> str:
    if draft.training is not None and draft.state is DraftState.APPROVED:
        return "✅ Draft approved"
    if draft.state is DraftState.PENDING:
        if draft.input.breach is not None:
            return "⏰ CX SLA breach: a customer is waiting"
        if draft.input.abstained:
            return "🤖 AI abstained: write the reply"
        return "📨 Draft reply to review"
    if draft.state is DraftState.REJECTED:
        if _marked_resolved(draft):
            return "✅ Marked resolved"
        return "🚫 Draft rejected"
    if draft.state is DraftState.ESCALATED:
        return "🚨 Draft escalated"
    if draft.state is DraftState.SUPERSEDED:
        return "⏭️ Draft superseded"
    if draft.retired is not None:
        return f"💬 {done_in_chatwoot(draft.retired)}"
    return {
        DeliveryStatus.SENT: "✅ Reply sent",
        DeliveryStatus.RECORDED: "📝 Reply recorded, not sent",
        DeliveryStatus.FAILED: "⚠️ Reply not sent yet",
        DeliveryStatus.GAVE_UP: "❌ Reply not sent",
    }.get(draft.reply.status, "⏳ Sending reply")


def _training_note(draft: Draft) -> dict:
    assert draft.training is not None
    scenario = training_scenario(draft.training.scenario)
    title = f" · {t.inline(scenario.label, TITLE_MAX)}" if scenario else ""
    return kit.context(
        f"Practice card for {t.mention(draft.training.trainee)}{title}. Decide it as you would "
        "a real one: only they can, nothing reaches a customer or a manager, and how they did "
        "is told to them alone."
    )


def _facts(draft: Draft, conversation_url: str | None) -> list[str]:
    data = draft.input
    customer = t.inline(data.customer.name, NAME_MAX) if data.customer.name else "_unknown_"
    if data.customer.email:
        customer += "\n" + t.inline(data.customer.email, EMAIL_MAX)
    if data.customer.email_verified is False:
        customer += "\n⚠️ _email not verified: typed into the chat, so no order facts were used_"
    conversation = f"#{data.conversation_id}"
    if conversation_url:
        conversation = t.link(conversation_url, f"#{data.conversation_id} in Chatwoot")
    band = BAND_BADGE[confidence_band(data.confidence)]
    risk = overall_risk(data.risk, draft.flags)
    risk_text = RISK_BADGE[risk]
    if risk is not data.risk:
        risk_text += f" (agent said {data.risk.value})"
    facts = [
        f"*Customer*\n{customer}",
        f"*Conversation*\n{conversation}",
        f"*Confidence*\n{t.percent(data.confidence)} · {band}",
        f"*Risk*\n{risk_text}",
        f"*Agent*\n{t.inline(data.agent, AGENT_MAX) if data.agent else '_not given_'}",
        f"*Received*\n{t.slack_date(draft.received_at)}",
    ]
    order = data.order
    if order is not None and (order.id or order.value_usd is not None):
        parts = [f"#{t.inline(order.id, ORDER_ID_MAX)}"] if order.id else []
        if order.value_usd is not None:
            parts.append(t.money(order.value_usd))
        facts.append("*Order*\n" + " · ".join(parts))
    if data.amount_usd is not None:
        facts.append(f"*Amount at stake*\n{t.money(data.amount_usd)}")
    context = customer_context_fact(data.customer_context)
    if context is not None:
        facts.append(context)
    return facts


def _order_text(facts: OrderFacts) -> str:
    lines = [t.inline(line, ORDER_LINE_MAX) for line in order_summary(facts)]
    return "*Order context* (from Shopify)\n" + "\n".join(lines[:ORDER_LINES])


def _flags_text(draft: Draft) -> str | None:
    if not draft.flags:
        return None
    lines = [
        f"{'⛔' if flag.kind in ALWAYS_ESCALATE else '⚠️'} {t.inline(flag.reason, FLAG_REASON_MAX)}"
        for flag in draft.flags
    ]
    return "*Why this risk level* (⛔ = must escalate)\n" + "\n".join(lines)


def _kb_text(sources: tuple[KbSource, ...]) -> str:
    if not sources:
        return "*Knowledge base sources*\n_No relevant knowledge-base article found._"
    lines = []
    for source in sources[:KB_SOURCES_SHOWN]:
        line = "• " + t.link(source.url, source.title, KB_TITLE_MAX)
        if source.version:
            version = source.version
            if version[:1].isdigit():
                version = "v" + version
            line += f" ({t.inline(version, KB_VERSION_MAX)})"
        if source.relevance is not None:
            line += f" — {t.percent(source.relevance)} relevance"
        lines.append(line)
    if len(sources) > KB_SOURCES_SHOWN:
        lines.append(f"…and {len(sources) - KB_SOURCES_SHOWN} more")
    return "*Knowledge base sources*\n" + "\n".join(lines)


def _breach_blocks(draft: Draft, breach: CxBreach) -> list[dict]:
    """How long the customer had waited when the scan found it, and the last messages."""
    waited = minutes_between(breach.waiting_since, draft.received_at)
    head = (
        f"*Waiting for a reply since* {t.slack_date(breach.waiting_since)} "
        f"({t.format_minutes(waited)} when found), with no agent reply."
    )
    lines = []
    for line in breach.lines[-BREACH_LINES:]:
        who = "Customer" if line.from_customer else "Agent"
        if line.author:
            who = f"{who} ({t.inline(line.author, NAME_MAX)})"
        lines.append(f"*{who}* {t.slack_date(line.at, '{time}')}\n{t.quote(line.text, LINE_MAX)}")
    blocks = [kit.section(head)]
    if lines:
        blocks.append(kit.section("*Last messages*\n" + "\n".join(lines)))
    return blocks


def _marked_resolved(draft: Draft) -> bool:
    decision = draft.decision
    return decision is not None and decision.reason in RESOLVED_REASONS


# --- status lines ----------------------------------------------------------------------------


def _edited(draft: Draft, decision: Decision) -> bool:
    return decision.kind is DecisionKind.EDIT or (
        decision.final_text is not None and decision.final_text != draft.input.draft
    )


def _by(decision: Decision | None) -> str:
    if decision is None:
        return ""
    return f"by {t.mention(decision.actor)} {t.slack_date(decision.at)}"


def _final_label(status: DeliveryStatus) -> str:
    if status is DeliveryStatus.SENT:
        return "Text sent"
    if status is DeliveryStatus.RECORDED:
        return "Recorded reply"
    if status is DeliveryStatus.NONE:  # a training card's: approved, never sent
        return "Approved reply"
    return "Reply to send"


def _status_text(draft: Draft, escalation: Escalation | None) -> str:
    if draft.state is DraftState.SUPERSEDED:
        return f"⏭️ {SUPERSEDED_NOTE} Nothing was sent from this card."
    if draft.retired is not None:
        return retired_status(draft.retired)
    decision = draft.decision
    by = _by(decision)
    if draft.state is DraftState.REJECTED:
        reason = ""
        if decision is not None and decision.reason is not None:
            reason = f" — reason: {REJECT_REASON_LABEL[decision.reason]}"
        if _marked_resolved(draft):
            return f"✅ *Marked resolved* {by}{reason}: nothing was sent"
        return f"🚫 *Rejected* {by}{reason}"
    if draft.state is DraftState.ESCALATED:
        detail = ""
        if escalation is not None:
            urgency = URGENCY_BADGE[escalation.urgency]
            detail = f" — {urgency}, {ESCALATION_TYPE_LABEL[escalation.type]}"
        return f"🚨 *Escalated* {by}{detail}"
    return _reply_status_text(draft, by)


def _reply_status_text(draft: Draft, by: str) -> str:
    reply = draft.reply
    edited = draft.decision is not None and _edited(draft, draft.decision)
    who = f"{'Edited and approved' if edited else 'Approved'} {by}".rstrip()
    if draft.training is not None:
        return f"🎓 *{who}*: a training card, so nothing was sent."
    error = t.inline(reply.last_error or "unknown error", ERROR_MAX)
    if reply.status is DeliveryStatus.SENT:
        when = f" {t.slack_date(reply.sent_at)}" if reply.sent_at else ""
        return f"✅ *Sent to the customer*{when}\n{who}."
    if reply.status is DeliveryStatus.RECORDED:
        return f"📝 *Recorded, not sent* (Chatwoot not configured)\n{who}."
    if reply.status is DeliveryStatus.FAILED:
        when = t.slack_date(reply.next_attempt_at) if reply.next_attempt_at else "soon"
        return (
            f"⚠️ *Chatwoot failed:* {error} — retrying automatically "
            f"(attempt {reply.attempts + 1}) {when}\n{who}."
        )
    if reply.status is DeliveryStatus.GAVE_UP:
        tries = f" after {reply.attempts} attempts" if reply.attempts > 1 else ""
        return f"❌ *Not sent:* {error}{tries}\n{who}. Press Retry to try again."
    return f"⏳ *Sending…* {who[0].lower()}{who[1:]}"


def _outcome_word(draft: Draft) -> str:
    if draft.training is not None and draft.state is DraftState.APPROVED:
        return "approved (training: nothing sent)"
    if draft.training is not None and draft.state is DraftState.ESCALATED:
        return "escalated (training: no manager told)"
    if draft.state is DraftState.SUPERSEDED:
        return "superseded by a newer draft"
    if draft.retired is not None:
        return done_in_chatwoot(draft.retired).lower()
    if draft.state is DraftState.REJECTED:
        return "rejected"
    if draft.state is DraftState.ESCALATED:
        return "escalated to a manager"
    return {
        DeliveryStatus.SENT: "sent to the customer",
        DeliveryStatus.RECORDED: "approved and recorded (not sent)",
        DeliveryStatus.FAILED: "approved; sending failed, retrying",
        DeliveryStatus.GAVE_UP: "approved; not sent",
    }.get(draft.reply.status, "approved; sending")


def customer_context_fact(context: CustomerContext | None) -> str | None:
    """The "Customer context" field (orders, lifetime value), shared with the escalation."""
    if context is None or (context.orders is None and context.lifetime_value_usd is None):
        return None
    parts = []
    if context.orders is not None:
        parts.append(f"{context.orders} orders")
    if context.lifetime_value_usd is not None:
        parts.append(f"{t.money(context.lifetime_value_usd)} lifetime value")
    return "*Customer context*\n" + " · ".join(parts)
