"""Block Kit builders: what operators and managers see, checked against Slack's own models."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.blocks import (
    ActionId,
    CallbackId,
    InputId,
    blocks_to_text,
    draft_card,
    draft_card_text,
    edit_modal,
    escalate_modal,
    escalation_message,
    escalation_text,
    reject_modal,
    view_to_text,
)
from bot.blocks import text as t
from bot.blocks.escalation_notes import escalation_notes_template
from bot.blocks.ids import DECISION_ACTIONS
from bot.blocks.modals import join_parts, read_edit_metadata
from bot.domain import (
    ConversationLine,
    Customer,
    CustomerContext,
    CxBreach,
    Decision,
    DecisionKind,
    Delivery,
    DeliveryStatus,
    Draft,
    DraftInput,
    DraftState,
    Escalation,
    EscalationState,
    EscalationType,
    KbSource,
    Order,
    RejectReason,
    RetiredBecause,
    Retirement,
    Risk,
    RiskFlag,
    RiskKind,
    Urgency,
)
from bot.rules.risk import (
    requires_manager,
    risk_flags,
    suggested_escalation_type,
    suggested_urgency,
)
from tests.blocks_limits import (
    all_text,
    assert_valid_message,
    assert_valid_modal,
    text_objects,
    text_total,
)

NOW = datetime(2025, 10, 11, 14, 3, tzinfo=UTC)
# What the rules find in demo 3's message, written out by hand.
MICHAEL_FLAG_REASONS = (
    '$1,350 at stake (over $100): "$1,350" in the message',
    'threat: "disputing with my bank", "Better Business Bureau"',
    'billing bug: "charged me THREE TIMES"',
    'angry tone: "ARE YOU KIDDING", "ME?!", "unacceptable"; shouting: "ARE YOU KIDDING ME", '
    '"THREE TIMES", "NOW"',
)
OPERATOR = "U07OPS1"
MANAGER = "U07MGR1"
CONVERSATION_URL = "https://chatwoot.example.com/app/accounts/1/conversations/101"
SLA = {Urgency.URGENT: 15.0, Urgency.HIGH: 60.0, Urgency.NORMAL: 240.0}
HOSTILE = "<!channel> <!here> <@U123> <http://evil|bank> & <!everyone>"
HOSTILE_RAW = ("<!channel>", "<!here>", "<@U123>", "<http://evil|bank>", "<!everyone>")

# Demo scenario 1 of the dry-run guide (seeds/000): high confidence, low risk.
SUSAN = DraftInput(
    conversation_id=101,
    customer=Customer(name="Susan Martinez", email="susan@example.com"),
    customer_message=(
        "Hi, I ordered 3 days ago and haven't received tracking info yet. "
        "Can you check on order #12345?"
    ),
    draft=(
        "Hi Susan! I've looked up your order #12345. Great news - it shipped yesterday via "
        "FedEx. Your tracking number is 9876543210 and you can track it here: [link]. Expected "
        "delivery is Tuesday, October 15. Let me know if you need anything else!"
    ),
    confidence=0.95,
    kb_sources=(
        KbSource(title="Shipping Policy", version="v2.1", relevance=0.98),
        KbSource(title="Order Tracking Guide", version="v1.5", relevance=0.94),
    ),
    risk=Risk.LOW,
    agent="Order Support Agent",
    order=Order(id="12345", value_usd=450.0),
    customer_context=CustomerContext(orders=15, lifetime_value_usd=2100.0),
    external_id="chatwoot-msg-8812",
)

# Demo scenario 2: medium confidence, frustrated customer; the operator edits.
ALEX = DraftInput(
    conversation_id=102,
    customer=Customer(name="Alex Thompson", email="alex@example.com"),
    customer_message=(
        "Seriously?! I ordered a BLUE sweater and you sent me RED. This is for an event on "
        "Saturday and now I'm scrambling. This is so frustrating!"
    ),
    draft=(
        "Your order #67890 can be returned per our return policy. Here's your return label: "
        "[link]. Refunds are processed in 5-7 business days after we receive the returned item."
    ),
    confidence=0.78,
    kb_sources=(
        KbSource(title="Return Policy", version="v2.1", relevance=0.85),
        KbSource(title="Exchange Process", version="v1.3", relevance=0.72),
    ),
    risk=Risk.MEDIUM,
    agent="Order Support Agent",
    order=Order(id="67890", value_usd=45.99),
)

# Demo scenario 3: triple charge, threats; must be escalated.
MICHAEL = DraftInput(
    conversation_id=103,
    customer=Customer(name="Michael Richards", email="michael@example.com"),
    customer_message=(
        "ARE YOU KIDDING ME?! I just checked my bank and you charged me THREE TIMES for the same "
        "$450 order! That's $1,350 on my credit card! I need this fixed NOW or I'm disputing with "
        "my bank AND reporting you to the Better Business Bureau. This is completely "
        "unacceptable!"
    ),
    draft=(
        "I apologize for the inconvenience. Please contact our billing department at "
        "billing@hotrodan.com and they can review the charges and process any necessary refunds."
    ),
    confidence=0.68,
    kb_sources=(
        KbSource(title="Billing Issues", version="v1.8", relevance=0.70),
        KbSource(title="Refund Policy", version="v2.1", relevance=0.65),
    ),
    risk=Risk.HIGH,
    agent="Order Support Agent",
    order=Order(id="78901", value_usd=450.0),
    customer_context=CustomerContext(orders=15, lifetime_value_usd=2100.0),
)

EDITED_TEXT = (
    "Hi Alex,\n\nI'm so sorry we sent the wrong color! Let's get this fixed right away.\n\n"
    "OPTION 1 - EXPEDITED EXCHANGE: I'll ship the blue sweater TODAY with overnight shipping."
)


def make_draft(data: DraftInput = SUSAN, draft_id: str = "d_susan") -> Draft:
    return Draft(
        id=draft_id,
        input=data,
        received_at=NOW,
        flags=risk_flags(data, high_value_usd=100.0),
    )


def approved(draft: Draft, status: DeliveryStatus, *, edited: bool = False, **reply) -> Draft:
    final = EDITED_TEXT if edited else draft.input.draft
    kind = DecisionKind.EDIT if edited else DecisionKind.APPROVE
    decision = Decision(kind=kind, actor=OPERATOR, at=NOW + timedelta(minutes=2), final_text=final)
    return replace(
        draft,
        state=DraftState.APPROVED,
        decision=decision,
        reply=Delivery(status=status, **reply),
    )


def rejected(draft: Draft, notes: str | None = "Policy is 30 days, not 14.") -> Draft:
    decision = Decision(
        kind=DecisionKind.REJECT,
        actor=OPERATOR,
        at=NOW + timedelta(minutes=3),
        reason=RejectReason.FACTUAL_ERROR,
        notes=notes,
    )
    return replace(draft, state=DraftState.REJECTED, decision=decision)


def escalation_for(draft: Draft, state: EscalationState = EscalationState.OPEN) -> Escalation:
    created = NOW + timedelta(minutes=1)
    esc = Escalation(
        id="e_" + draft.id,
        draft_id=draft.id,
        conversation_id=draft.input.conversation_id,
        type=EscalationType.LEGAL_THREAT,
        urgency=Urgency.URGENT,
        notes=escalation_notes_template(draft.input, draft.flags, draft_id=draft.id),
        escalated_by=OPERATOR,
        created_at=created,
        due_at=created + timedelta(minutes=15),
    )
    if state is not EscalationState.OPEN:
        esc = replace(
            esc, state=state, claimed_by=MANAGER, claimed_at=created + timedelta(minutes=4)
        )
    if state is EscalationState.RESOLVED:
        esc = replace(esc, resolved_by=MANAGER, resolved_at=created + timedelta(minutes=30))
    return esc


def escalated(draft: Draft) -> tuple[Draft, Escalation]:
    esc = escalation_for(draft)
    decision = Decision(
        kind=DecisionKind.ESCALATE,
        actor=OPERATOR,
        at=esc.created_at,
        notes=esc.notes,
        escalation_id=esc.id,
    )
    return replace(draft, state=DraftState.ESCALATED, decision=decision), esc


def card(draft: Draft, *, chatwoot: bool = True, esc: Escalation | None = None) -> list[dict]:
    return draft_card(
        draft,
        conversation_url=CONVERSATION_URL,
        chatwoot_enabled=chatwoot,
        managers_only=requires_manager(draft.flags),
        escalation=esc,
    )


def all_states(base: Draft) -> dict[str, tuple[Draft, Escalation | None]]:
    esc_draft, esc = escalated(base)
    retry_at = NOW + timedelta(minutes=5)
    return {
        "pending": (base, None),
        "queued": (approved(base, DeliveryStatus.QUEUED), None),
        "sending": (approved(base, DeliveryStatus.SENDING, edited=True), None),
        "sent": (approved(base, DeliveryStatus.SENT, sent_at=NOW + timedelta(minutes=3)), None),
        "sent_edited": (approved(base, DeliveryStatus.SENT, edited=True), None),
        "failed": (
            approved(
                base,
                DeliveryStatus.FAILED,
                attempts=2,
                next_attempt_at=retry_at,
                last_error="Chatwoot answered HTTP 502",
            ),
            None,
        ),
        "gave_up": (
            approved(base, DeliveryStatus.GAVE_UP, attempts=5, last_error="HTTP 404: not found"),
            None,
        ),
        "recorded": (approved(base, DeliveryStatus.RECORDED), None),
        "rejected": (rejected(base), None),
        "escalated": (esc_draft, esc),
        "escalated_without_escalation": (esc_draft, None),
        "answered_in_chatwoot": (retired(base, RetiredBecause.ANSWERED, "Dana"), None),
        "resolved_in_chatwoot": (retired(base, RetiredBecause.RESOLVED), None),
    }


def retired(draft: Draft, because: RetiredBecause, by: str | None = None) -> Draft:
    done = Retirement(because, NOW + timedelta(minutes=2), by)
    return replace(draft, state=DraftState.RETIRED, retired=done)


def buttons(blocks: list[dict]) -> list[dict]:
    return [
        element
        for block in blocks
        if block["type"] == "actions"
        for element in block["elements"]
        if element["type"] == "button"
    ]


def visible_text(blocks: list[dict]) -> str:
    return "\n".join(obj["text"] for obj in text_objects(blocks))


STATE_NAMES = list(all_states(make_draft()))


# --- the card --------------------------------------------------------------------------------


@pytest.mark.parametrize("base", [SUSAN, ALEX, MICHAEL], ids=["susan", "alex", "michael"])
@pytest.mark.parametrize("state", STATE_NAMES)
def test_every_card_state_is_accepted_by_slack_models(base: DraftInput, state: str) -> None:
    draft, esc = all_states(make_draft(base))[state]
    for chatwoot in (True, False):
        blocks = card(draft, chatwoot=chatwoot, esc=esc)
        assert_valid_message(blocks)
        assert draft_card_text(draft)


def test_pending_card_offers_the_four_decisions_carrying_the_draft_id() -> None:
    blocks = card(make_draft())
    found = {b["action_id"]: b for b in buttons(blocks)}
    assert set(found) == DECISION_ACTIONS - {ActionId.MARK_RESOLVED}  # a breach card swaps Reject
    for action, word in [
        (ActionId.APPROVE, "Approve"),
        (ActionId.EDIT, "Edit"),
        (ActionId.REJECT, "Reject"),
        (ActionId.ESCALATE, "Escalate"),
    ]:
        assert word in found[action]["text"]["text"]
        assert found[action]["value"] == "d_susan"
    assert found[ActionId.APPROVE]["style"] == "primary"


@pytest.mark.parametrize("state", [s for s in STATE_NAMES if s != "pending"])
def test_no_decision_button_is_left_once_decided(state: str) -> None:
    draft, esc = all_states(make_draft(ALEX))[state]
    blocks = card(draft, esc=esc)
    assert not {b["action_id"] for b in buttons(blocks)} & DECISION_ACTIONS
    for button in buttons(blocks):
        for word in ("Approve", "Edit", "Reject", "Escalate"):
            assert word not in button["text"]["text"]


def test_card_shows_what_the_source_documents_put_on_it() -> None:
    blocks = card(make_draft())
    text = visible_text(blocks)
    assert "Susan Martinez" in text and "susan@example.com" in text
    assert "haven't received tracking info yet" in text
    assert "> Hi Susan! I've looked up your order #12345" in text
    assert "95% · 🟢 High" in text
    assert "Shipping Policy (v2.1) — 98% relevance" in text
    assert "Order Tracking Guide (v1.5) — 94% relevance" in text
    assert "🟢 Low" in text  # risk
    assert "Order Support Agent" in text
    assert f"<!date^{int(NOW.timestamp())}^" in text  # when it arrived
    assert "#12345 · $450.00" in text
    assert "15 orders · $2,100.00 lifetime value" in text
    assert f"<{CONVERSATION_URL}|#101 in Chatwoot>" in text


def test_conversation_without_url_is_named_without_a_link() -> None:
    blocks = draft_card(
        make_draft(), conversation_url=None, chatwoot_enabled=True, managers_only=False
    )
    assert "#101" in visible_text(blocks)
    assert "chatwoot.example.com" not in all_text(blocks)


def confidence_field(confidence: float) -> str:
    blocks = card(make_draft(replace(SUSAN, confidence=confidence)))
    [field] = [f["text"] for b in blocks for f in b.get("fields", []) if "Confidence" in f["text"]]
    return field


def test_confidence_band_is_visibly_distinct() -> None:
    high, medium, low = (confidence_field(c) for c in (0.95, 0.78, 0.68))
    assert high == "*Confidence*\n95% · 🟢 High"
    assert medium == "*Confidence*\n78% · 🟡 Medium"
    assert low == "*Confidence*\n68% · 🔴 Low"
    assert len({field.split("· ")[1][0] for field in (high, medium, low)}) == 3  # 3 colours


def test_confidence_just_under_a_band_is_not_shown_rounded_up() -> None:
    assert confidence_field(0.899) == "*Confidence*\n89% · 🟡 Medium"
    assert confidence_field(0.9) == "*Confidence*\n90% · 🟢 High"
    assert confidence_field(0.7) == "*Confidence*\n70% · 🟡 Medium"


def test_risk_level_comes_with_each_flags_reason() -> None:
    draft = make_draft(MICHAEL)
    text = visible_text(card(draft))
    assert "*Risk*\n🔴 High" in text
    for reason in MICHAEL_FLAG_REASONS:
        assert reason in text
    assert "⛔" in text  # forcing flags are marked as must-escalate


def test_declared_risk_shown_when_flags_raise_it() -> None:
    flags = (RiskFlag(RiskKind.ANGRY_TONE, "angry tone: “frustrating”"),)
    draft = replace(make_draft(), flags=flags)
    assert "🟡 Medium (agent said low)" in visible_text(card(draft))


def test_card_reserves_approval_for_managers_when_policy_says_so() -> None:
    text = visible_text(card(make_draft(MICHAEL)))
    assert "Approve/Edit reserved for managers" in text
    assert "escalate or ask a manager" in text
    assert "reserved for managers" not in visible_text(card(make_draft(SUSAN)))


def test_pending_card_says_replies_are_recorded_when_chatwoot_is_off() -> None:
    off = visible_text(card(make_draft(), chatwoot=False))
    on = visible_text(card(make_draft(), chatwoot=True))
    assert "recorded, not sent" in off and "Chatwoot not configured" in off
    assert "recorded, not sent" not in on


def test_no_knowledge_base_source_is_said_plainly() -> None:
    draft = make_draft(replace(SUSAN, kb_sources=()))
    assert "No relevant knowledge-base article found" in visible_text(card(draft))


@pytest.mark.parametrize("status", [DeliveryStatus.QUEUED, DeliveryStatus.SENDING])
def test_card_shows_sending_and_who_approved_at_once(status: DeliveryStatus) -> None:
    draft = approved(make_draft(), status)
    text = visible_text(card(draft))
    assert "⏳ *Sending…* approved by" in text
    assert f"<@{OPERATOR}>" in text
    assert f"<!date^{int(draft.decision.at.timestamp())}^" in text
    assert not buttons(card(draft))


def test_sent_card_shows_exactly_what_was_sent_and_who_when() -> None:
    draft = approved(make_draft(), DeliveryStatus.SENT, sent_at=NOW + timedelta(minutes=3))
    blocks = card(draft)
    text = visible_text(blocks)
    assert "✅ *Sent to the customer*" in text
    assert f"Approved by <@{OPERATOR}> <!date^" in text
    assert f"*Text sent*\n> {SUSAN.draft}" in text
    assert [b["action_id"] for b in buttons(blocks)] == [ActionId.CORRECT]  # a follow-up only


def test_edited_reply_is_shown_as_sent_and_marked_edited() -> None:
    draft = approved(make_draft(ALEX), DeliveryStatus.SENT, edited=True)
    text = visible_text(card(draft))
    assert "Edited and approved by" in text
    sent = (
        "> Hi Alex,\n> \n> I'm so sorry we sent the wrong color! Let's get this fixed right away."
    )
    assert f"*Text sent* (edited by the operator)\n{sent}" in text
    assert "*Original draft*" in text


def test_failed_send_shows_error_attempt_next_try_and_retry_now() -> None:
    retry_at = NOW + timedelta(minutes=5)
    draft = approved(
        make_draft(),
        DeliveryStatus.FAILED,
        attempts=2,
        next_attempt_at=retry_at,
        last_error="Chatwoot answered HTTP 502",
    )
    blocks = card(draft)
    text = visible_text(blocks)
    assert "⚠️ *Chatwoot failed:* Chatwoot answered HTTP 502" in text
    assert "retrying automatically (attempt 3)" in text
    assert f"<!date^{int(retry_at.timestamp())}^" in text
    [retry] = buttons(blocks)
    assert retry["action_id"] == ActionId.RETRY
    assert "Retry now" in retry["text"]["text"]
    assert retry["value"] == draft.id


def test_given_up_send_shows_error_and_retry() -> None:
    draft = approved(make_draft(), DeliveryStatus.GAVE_UP, attempts=5, last_error="HTTP 404")
    blocks = card(draft)
    assert "❌ *Not sent:* HTTP 404" in visible_text(blocks)
    [retry] = buttons(blocks)
    assert retry["action_id"] == ActionId.RETRY
    assert "Retry" in retry["text"]["text"]


def test_recorded_reply_says_not_sent_and_shows_the_text() -> None:
    text = visible_text(card(approved(make_draft(), DeliveryStatus.RECORDED), chatwoot=False))
    assert "📝 *Recorded, not sent* (Chatwoot not configured)" in text
    assert f"> {SUSAN.draft}" in text


def test_a_card_done_in_chatwoot_says_so_and_offers_nothing() -> None:
    answered, _ = all_states(make_draft())["answered_in_chatwoot"]
    resolved, _ = all_states(make_draft())["resolved_in_chatwoot"]

    answered_text = visible_text(card(answered))
    assert "Answered in Chatwoot* by Dana" in answered_text
    assert "Nothing was sent from this card; follow up in Chatwoot." in answered_text
    assert "Resolved in Chatwoot*" in visible_text(card(resolved))
    assert buttons(card(answered)) == buttons(card(resolved)) == []


def test_rejected_card_shows_who_when_reason_and_notes() -> None:
    draft = rejected(make_draft())
    text = visible_text(card(draft))
    assert f"🚫 *Rejected* by <@{OPERATOR}> <!date^" in text
    assert "reason: Factual error" in text
    assert "> Policy is 30 days, not 14." in text


def test_escalated_card_shows_who_when_urgency_type_and_notes() -> None:
    draft, esc = escalated(make_draft(MICHAEL))
    text = visible_text(card(draft, esc=esc))
    assert f"🚨 *Escalated* by <@{OPERATOR}> <!date^" in text
    assert "🔴 URGENT, Legal/Regulatory Threat" in text
    assert "> ESCALATION TYPE:" in text


def test_decided_card_notification_text_names_the_outcome() -> None:
    draft = approved(make_draft(), DeliveryStatus.SENT)
    assert "sent to the customer" in draft_card_text(draft)
    assert "Susan Martinez" in draft_card_text(make_draft())


# --- untrusted text --------------------------------------------------------------------------


def hostile_input() -> DraftInput:
    return replace(
        SUSAN,
        customer=Customer(name=HOSTILE, email=f"{HOSTILE}@example.com"),
        customer_message=(HOSTILE + "\n") * 40,
        draft="Sure! " + HOSTILE,
        agent=HOSTILE,
        kb_sources=(KbSource(title=HOSTILE, version=HOSTILE, relevance=0.5, url="http://x|y"),),
        order=Order(id=HOSTILE, value_usd=10.0),
    )


@pytest.mark.parametrize("state", STATE_NAMES)
def test_mentions_and_links_typed_by_people_are_escaped(state: str) -> None:
    base = replace(make_draft(hostile_input()), flags=(RiskFlag(RiskKind.THREAT, HOSTILE),))
    draft, esc = all_states(base)[state]
    if draft.decision is not None:
        draft = replace(draft, decision=replace(draft.decision, notes=HOSTILE, final_text=HOSTILE))
    draft = replace(draft, reply=replace(draft.reply, last_error=HOSTILE))
    if esc is not None:
        esc = replace(esc, notes=HOSTILE)
    blocks = card(draft, esc=esc)
    assert_valid_message(blocks)
    shown = all_text(blocks) + draft_card_text(draft)
    for raw in HOSTILE_RAW:
        assert raw not in shown
    assert "&lt;!channel&gt;" in shown
    assert "&lt;http://evil|bank&gt;" in shown


def test_huge_message_and_draft_are_cut_visibly_within_slacks_budget() -> None:
    data = replace(SUSAN, customer_message="x" * 10_000, draft="y" * 10_000)
    base = make_draft(data)
    for state, (draft, esc) in all_states(base).items():
        if draft.decision is not None:
            draft = replace(draft, decision=replace(draft.decision, notes="n" * 10_000))
        blocks = card(draft, esc=esc)
        assert_valid_message(blocks)
        assert text_total(blocks) <= 12_000, state
        text = visible_text(blocks)
        assert "x…" in text, state
        assert max(len(line) for line in text.split("\n")) < 3000


def test_huge_texts_with_entities_are_cut_without_breaking_them() -> None:
    data = replace(SUSAN, customer_message="<&>" * 5000, draft="&" * 5000)
    blocks = card(approved(make_draft(data), DeliveryStatus.SENT, edited=True))
    assert_valid_message(blocks)
    text = visible_text(blocks)
    assert "&amp;…" in text or "&gt;…" in text or "&lt;…" in text
    assert "&a…" not in text and "&am…" not in text and "&l…" not in text


def test_everything_huge_at_once_shares_the_12000_budget() -> None:
    huge = "word " * 2000
    data = replace(
        SUSAN,
        customer=Customer(name="N" * 5000, email="e" * 5000),
        customer_message=huge,
        draft=huge,
        kb_sources=tuple(KbSource(title="T" * 500, version="v1", relevance=0.5) for _ in range(9)),
        agent="A" * 5000,
    )
    flags = tuple(RiskFlag(kind, "r" * 5000) for kind in RiskKind)
    draft = approved(replace(make_draft(data), flags=flags), DeliveryStatus.SENT, edited=True)
    draft = replace(draft, decision=replace(draft.decision, final_text=huge))
    blocks = card(draft)
    assert_valid_message(blocks)
    assert text_total(blocks) <= 12_000
    quoted = [b["text"]["text"] for b in blocks if "\n> word" in b.get("text", {}).get("text", "")]
    assert len(quoted) == 3  # message, original draft and sent text all still shown
    assert all(q.endswith("…") for q in quoted)
    assert max(len(q) for q in quoted) - min(len(q) for q in quoted) < 60  # fair shares


def test_many_long_lines_and_kb_sources_still_fit() -> None:
    long_line = "word " * 500
    data = replace(
        SUSAN,
        customer=Customer(name="N" * 5000, email="e" * 5000),
        customer_message="\n".join([long_line] * 50),
        draft="\n".join([long_line] * 50),
        kb_sources=tuple(
            KbSource(title="T" * 500, version="v" * 500, relevance=0.5) for _ in range(40)
        ),
        agent="A" * 5000,
        order=Order(id="9" * 5000, value_usd=1e12),
    )
    flags = tuple(RiskFlag(kind, "r" * 5000) for kind in RiskKind)
    for draft, esc in all_states(replace(make_draft(data), flags=flags)).values():
        blocks = card(draft, esc=esc)
        assert_valid_message(blocks)
        assert "…and 32 more" in visible_text(blocks)


def breach_input(text: str) -> DraftInput:
    lines = tuple(
        ConversationLine(from_customer=n % 2 == 0, author=text, text=text, at=NOW) for n in range(9)
    )
    breach = CxBreach(waiting_since=NOW - timedelta(minutes=75), lines=lines)
    return replace(SUSAN, customer_message=text, draft=text, breach=breach)


@pytest.mark.parametrize("state", STATE_NAMES)
def test_a_breach_card_fits_slacks_budget_and_escapes_the_conversation(state: str) -> None:
    huge_and_hostile = (HOSTILE + " ") * 600
    draft, esc = all_states(make_draft(breach_input(huge_and_hostile)))[state]

    blocks = card(draft, esc=esc)

    assert_valid_message(blocks)
    assert text_total(blocks) <= 12_000
    shown = all_text(blocks)
    for raw in HOSTILE_RAW:
        assert raw not in shown
    assert "Last messages" in shown and "Waiting for a reply since" in shown


def test_a_breach_card_offers_mark_resolved_instead_of_reject() -> None:
    blocks = card(make_draft(breach_input("Where is my parcel?")))
    [actions] = [b for b in blocks if b["type"] == "actions"]
    ids = [e["action_id"] for e in actions["elements"]]
    assert ids == ["draft_approve", "draft_edit", "draft_escalate", "cx_mark_resolved"]
    shown = all_text(blocks)  # the last five of nine messages: customer, agent, … customer
    assert shown.count("*Customer (") == 3 and shown.count("*Agent (") == 2


# --- modals ----------------------------------------------------------------------------------


def test_edit_modal_starts_with_the_draft() -> None:
    draft = make_draft(ALEX)
    view = edit_modal(draft)
    assert_valid_modal(view)
    assert view["callback_id"] == CallbackId.EDIT
    assert view["private_metadata"] == draft.id
    [field] = [b for b in view["blocks"] if b.get("block_id") == InputId.EDIT_TEXT]
    element = field["element"]
    assert element["action_id"] == InputId.EDIT_TEXT
    assert element["type"] == "plain_text_input" and element["multiline"] is True
    assert element["initial_value"] == ALEX.draft
    assert element["max_length"] == 3000
    assert "Alex Thompson" in all_text(view["blocks"])


def test_edit_modal_splits_a_draft_longer_than_one_text_box() -> None:
    lines = [f"Line {n}: " + "z" * 90 for n in range(60)]  # 6,000 characters in 60 lines
    long_draft = "\n".join(lines) + "\n" + "y" * 3500  # and a last line too long for a box
    view = edit_modal(make_draft(replace(SUSAN, draft=long_draft)))
    assert_valid_modal(view)
    fields = [b for b in view["blocks"] if b["type"] == "input"]
    labels = [f["label"]["text"] for f in fields]
    assert labels == [f"Reply to the customer (part {n} of 4)" for n in range(1, 5)]
    parts = [f["element"].get("initial_value", "") for f in fields]
    assert all(len(part) <= 3000 for part in parts)
    assert parts[0].startswith("Line 0: zzz")  # the first box starts with the draft
    assert parts[1].endswith("z") and parts[2:] == ["y" * 3000, "y" * 500]  # mid-line: must
    assert "split into 4 parts" in json.dumps(view)
    draft_id, joins = read_edit_metadata(view["private_metadata"])
    assert draft_id == "d_susan"
    assert join_parts(parts, joins) == long_draft


def test_edit_modal_of_an_ordinary_draft_is_one_box_and_plain_metadata() -> None:
    view = edit_modal(make_draft())
    [field] = [b for b in view["blocks"] if b["type"] == "input"]
    assert field["label"]["text"] == "Reply to the customer"
    assert view["private_metadata"] == "d_susan"


def test_reject_modal_offers_the_reasons_and_optional_notes() -> None:
    view = reject_modal(make_draft())
    assert_valid_modal(view)
    assert view["callback_id"] == CallbackId.REJECT
    assert view["private_metadata"] == "d_susan"
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    reason = inputs[InputId.REJECT_REASON]["element"]
    assert reason["type"] == "static_select"
    assert reason["action_id"] == InputId.REJECT_REASON
    labels = {o["value"]: o["text"]["text"] for o in reason["options"]}
    assert labels == {
        "factual_error": "Factual error",
        "wrong_tone": "Wrong tone",
        "incomplete": "Incomplete",
        "handle_manually": "Handle manually in Chatwoot",
        "other": "Other",
    }
    notes = inputs[InputId.REJECT_NOTES]
    assert notes["optional"] is True
    assert notes["element"]["multiline"] is True


def test_escalate_modal_offers_urgencies_with_their_sla_and_prefills_policy() -> None:
    draft = make_draft(MICHAEL)
    notes = escalation_notes_template(draft.input, draft.flags, draft_id=draft.id)
    view = escalate_modal(
        draft,
        suggested_type=suggested_escalation_type(draft.flags),
        suggested_urgency=suggested_urgency(draft.flags),
        notes=notes,
        sla_minutes={Urgency.URGENT: 15.0, Urgency.HIGH: 60.0, Urgency.NORMAL: 240.0},
    )
    assert_valid_modal(view)
    assert view["callback_id"] == CallbackId.ESCALATE
    assert view["private_metadata"] == draft.id
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    urgency = inputs[InputId.ESCALATION_URGENCY]
    texts = {o["value"]: o["text"]["text"] for o in urgency["options"]}
    assert "Urgent" in texts["urgent"] and "15 min" in texts["urgent"]
    assert "High" in texts["high"] and "1 h" in texts["high"]
    assert "Normal" in texts["normal"] and "4 h" in texts["normal"]
    assert urgency["initial_option"]["value"] == "urgent"
    kind = inputs[InputId.ESCALATION_TYPE]
    assert [o["text"]["text"] for o in kind["options"]] == [
        "High-Value Issue",
        "Policy Exception",
        "Legal/Regulatory Threat",
        "Technical Issue",
        "B2B/Wholesale",
        "Other",
    ]
    assert kind["initial_option"]["value"] == "high_value"
    assert inputs[InputId.ESCALATION_NOTES]["initial_value"] == notes
    assert inputs[InputId.ESCALATION_NOTES]["max_length"] == 3000


def test_escalate_modal_prints_configured_slas() -> None:
    view = escalate_modal(
        make_draft(),
        suggested_type=EscalationType.OTHER,
        suggested_urgency=Urgency.NORMAL,
        notes="",
        sla_minutes={Urgency.URGENT: 0.5, Urgency.HIGH: 7.5, Urgency.NORMAL: 90},
    )
    assert_valid_modal(view)
    texts = view_to_text(view)
    assert "Urgent (30 s SLA)" in texts
    assert "High (7.5 min SLA)" in texts
    assert "Normal (1.5 h SLA)" in texts


def test_modals_escape_the_summary_and_cut_long_notes() -> None:
    draft = make_draft(hostile_input())
    view = escalate_modal(
        draft,
        suggested_type=EscalationType.OTHER,
        suggested_urgency=Urgency.HIGH,
        notes="n" * 4000,
        sla_minutes=SLA,
    )
    assert_valid_modal(view)
    summary = all_text(view["blocks"][:1])
    for raw in HOSTILE_RAW:
        assert raw not in summary
    notes = next(b for b in view["blocks"] if b.get("block_id") == InputId.ESCALATION_NOTES)
    assert len(notes["element"]["initial_value"]) == 3000
    assert notes["element"]["initial_value"].endswith("…")
    for build in (edit_modal, reject_modal):
        assert_valid_modal(build(draft))


# --- escalation message ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (EscalationState.OPEN, {ActionId.CLAIM}),
        (EscalationState.CLAIMED, {ActionId.RESOLVE}),
        (EscalationState.RESOLVED, set()),
    ],
)
def test_escalation_message_offers_claim_then_resolve_then_nothing(
    state: EscalationState, expected: set[ActionId]
) -> None:
    draft = make_draft(MICHAEL)
    esc = escalation_for(draft, state)
    blocks = escalation_message(esc, draft, conversation_url=CONVERSATION_URL, sla_minutes=SLA)
    assert_valid_message(blocks)
    found = buttons(blocks)
    assert {b["action_id"] for b in found} == expected
    for button in found:
        assert button["value"] == esc.id
        word = "Claim" if button["action_id"] == ActionId.CLAIM else "Resolve"
        assert word in button["text"]["text"]


def test_escalation_message_shows_urgency_due_time_who_customer_notes_and_flags() -> None:
    draft = make_draft(MICHAEL)
    esc = escalation_for(draft)
    text = visible_text(
        escalation_message(esc, draft, conversation_url=CONVERSATION_URL, sla_minutes=SLA)
    )
    assert "🔴 URGENT" in text
    assert "claim within 15 min" in text
    assert f"<!date^{int(esc.due_at.timestamp())}^" in text
    assert "Legal/Regulatory Threat" in text
    assert f"<@{OPERATOR}>" in text
    assert "Michael Richards" in text and "michael@example.com" in text
    assert f"<{CONVERSATION_URL}|#103 in Chatwoot>" in text
    assert "> ESCALATION TYPE:" in text
    for reason in MICHAEL_FLAG_REASONS:
        assert reason in text
    assert "URGENT" in escalation_text(esc, draft)


def test_claimed_and_resolved_escalations_say_who_and_when() -> None:
    draft = make_draft(MICHAEL)
    claimed = escalation_for(draft, EscalationState.CLAIMED)
    text = visible_text(escalation_message(claimed, draft, conversation_url=None, sla_minutes=SLA))
    assert f"🙋 *Claimed* by <@{MANAGER}> <!date^{int(claimed.claimed_at.timestamp())}^" in text
    resolved = escalation_for(draft, EscalationState.RESOLVED)
    text = visible_text(escalation_message(resolved, draft, conversation_url=None, sla_minutes=SLA))
    assert f"✅ *Resolved* by <@{MANAGER}> <!date^{int(resolved.resolved_at.timestamp())}^" in text
    assert "resolved" in escalation_text(resolved, draft)


def test_escalation_notes_are_escaped_and_cut_visibly() -> None:
    draft = make_draft(hostile_input())
    esc = replace(escalation_for(draft), notes=(HOSTILE + "\n") * 400)
    blocks = escalation_message(esc, draft, conversation_url=None, sla_minutes=SLA)
    assert_valid_message(blocks)
    shown = all_text(blocks) + escalation_text(esc, draft)
    for raw in HOSTILE_RAW:
        assert raw not in shown
    notes = next(
        b["text"]["text"] for b in blocks if b.get("text", {}).get("text", "").startswith("*Notes*")
    )
    assert notes.endswith("…")


# --- terminal rendering ----------------------------------------------------------------------


def test_render_shows_a_pending_card_readably_with_its_buttons() -> None:
    rendered = blocks_to_text(card(make_draft()))
    assert "[ ✅ Approve & Send ]" in rendered
    for label in ("Edit", "Reject", "Escalate"):
        assert f"{label} ]" in rendered
    assert "Confidence: 95% · 🟢 High" in rendered
    assert "2025-10-11 14:03 UTC" in rendered  # the date token's fallback
    assert "<!date" not in rendered and "*Customer message*" not in rendered
    assert "Customer message\n> Hi, I ordered 3 days ago" in rendered


def test_render_shows_escaped_text_as_typed_and_decisions_with_who() -> None:
    draft = rejected(make_draft(hostile_input()))
    rendered = blocks_to_text(card(draft))
    assert "<!channel>" in rendered  # shown as the customer typed it, harmless in a terminal
    assert f"Rejected by @{OPERATOR}" in rendered
    assert "[ " not in rendered


def test_render_shows_modal_inputs_with_their_initial_values() -> None:
    draft = make_draft(ALEX)
    rendered = view_to_text(edit_modal(draft))
    assert "Edit reply" in rendered
    assert "Reply to the customer:" in rendered
    assert "│ Your order #67890 can be returned" in rendered
    assert "[ Approve & Send ]" in rendered and "[ Cancel ]" in rendered
    rendered = view_to_text(reject_modal(draft))
    assert "Handle manually in Chatwoot" in rendered


# --- text helpers ----------------------------------------------------------------------------


def test_escape_neutralizes_slack_control_characters() -> None:
    assert t.escape("<!channel> & <http://evil|bank>") == (
        "&lt;!channel&gt; &amp; &lt;http://evil|bank&gt;"
    )


def test_truncate_marks_the_cut_and_keeps_the_limit() -> None:
    assert t.truncate("hello", 5) == "hello"
    assert t.truncate("hello world", 6) == "hello…"
    assert len(t.truncate("a" * 100, 10)) == 10


def test_cutting_escaped_text_never_leaves_half_an_entity() -> None:
    for limit in range(1, 40):
        cut = t.safe("&<>" * 20, limit)
        assert len(cut) <= limit
        assert re.fullmatch(r"(?:&amp;|&lt;|&gt;)*…?", cut), cut


def test_quote_prefixes_every_line_and_respects_the_limit() -> None:
    assert t.quote("one\ntwo", 100) == "> one\n> two"
    cut = t.quote("line\n" * 100, 50)
    assert len(cut) <= 50 and cut.endswith("…")


def test_slack_date_has_a_utc_fallback_for_aware_and_naive_times() -> None:
    later = NOW + timedelta(hours=2)
    expected = f"<!date^{int(later.timestamp())}^{{date_short_pretty}} at {{time}}|"
    assert t.slack_date(later) == expected + "2025-10-11 16:03 UTC>"
    assert t.slack_date(datetime(2025, 10, 11, 14, 3)) == t.slack_date(NOW)


def test_mention_only_for_user_ids() -> None:
    assert t.mention("U07OPS1") == "<@U07OPS1>"
    assert t.mention("system") == "system"
    assert t.mention("<!channel>") == "&lt;!channel&gt;"


def test_share_budget_meets_small_wants_and_splits_the_rest() -> None:
    assert t.share_budget(100, [10, 200, 200]) == [10, 45, 45]
    assert t.share_budget(1000, [10, 20]) == [10, 20]
    assert t.share_budget(-5, [10]) == [0]


def test_rendered_json_is_plain_json() -> None:
    # Enum ids must serialize as their plain string values for Slack.
    blocks = card(make_draft())
    assert '"action_id": "draft_approve"' in json.dumps(blocks)
