"""The approval-queue rules: bands, risk flags, escalation suggestions, SLA, notes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.blocks.escalation_notes import NOTES_MAX_CHARS, escalation_notes_template
from bot.domain import (
    Band,
    Customer,
    CustomerContext,
    DraftInput,
    EscalationType,
    Order,
    Risk,
    RiskFlag,
    RiskKind,
    Urgency,
)
from bot.rules.risk import (
    ALWAYS_ESCALATE,
    confidence_band,
    money_amounts,
    overall_risk,
    requires_manager,
    risk_flags,
    suggested_escalation_type,
    suggested_urgency,
)
from bot.rules.sla import sla_due

TRIPLE_CHARGE = (
    "ARE YOU KIDDING ME?! I just checked my bank and you charged me THREE TIMES for the same $450 "
    "order! That's $1,350 on my credit card! I need this fixed NOW or I'm disputing with my bank "
    "AND reporting you to the Better Business Bureau. This is completely unacceptable!"
)
NOW = datetime(2025, 10, 11, 9, 0, tzinfo=UTC)


def _draft(message: str, *, text: str = "Thanks for reaching out!", **fields: object) -> DraftInput:
    return DraftInput(
        conversation_id=1, customer_message=message, draft=text, confidence=0.9, **fields
    )


def _kinds(message: str, *, threshold: float = 100, **fields: object) -> set[RiskKind]:
    return {f.kind for f in risk_flags(_draft(message, **fields), high_value_usd=threshold)}


def _reason(message: str, kind: RiskKind, *, threshold: float = 100, **fields: object) -> str:
    flags = risk_flags(_draft(message, **fields), high_value_usd=threshold)
    return next(f.reason for f in flags if f.kind is kind)


def _triple_charge_draft() -> DraftInput:
    return DraftInput(
        conversation_id=103,
        customer_message=TRIPLE_CHARGE,
        draft="I apologize for the inconvenience. Please contact our billing department.",
        confidence=0.68,
        customer=Customer("Michael Richards", "michael@example.com"),
        risk=Risk.HIGH,
        order=Order("78901", 450.0),
        amount_usd=900.0,
        customer_context=CustomerContext(orders=15, lifetime_value_usd=2100.0),
    )


# --- confidence bands ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("confidence", "band"),
    [
        (1.0, Band.HIGH),
        (0.90, Band.HIGH),
        (0.8999, Band.MEDIUM),
        (0.895, Band.MEDIUM),
        (0.70, Band.MEDIUM),
        (0.6999, Band.LOW),
        (0.0, Band.LOW),
    ],
)
def test_confidence_band_edges(confidence: float, band: Band) -> None:
    assert confidence_band(confidence) is band


@pytest.mark.parametrize("confidence", [-0.01, 1.01, float("nan")])
def test_confidence_outside_zero_to_one_is_refused(confidence: float) -> None:
    with pytest.raises(ValueError, match="confidence"):
        confidence_band(confidence)


# --- money -----------------------------------------------------------------------------------


def test_money_amounts_reads_the_ways_people_write_dollars() -> None:
    text = "$1,350 then $450.00, 500 dollars, USD 90, 75 bucks and $2.1K"
    assert money_amounts(text) == [1350.0, 450.0, 500.0, 90.0, 75.0, 2100.0]


def test_money_amounts_ignores_error_codes_order_numbers_and_counts() -> None:
    assert money_amounts("Error 500 on order #12345, 3 cards, 2 hours") == []


# --- risk flags: the seeds' cases ------------------------------------------------------------


def test_triple_charge_raises_value_threat_billing_bug_and_anger() -> None:
    flags = risk_flags(_triple_charge_draft(), high_value_usd=100)
    reasons = {f.kind: f.reason for f in flags}
    assert set(reasons) == {
        RiskKind.HIGH_VALUE,
        RiskKind.THREAT,
        RiskKind.TECHNICAL,
        RiskKind.ANGRY_TONE,
    }
    assert reasons[RiskKind.HIGH_VALUE].startswith("$1,350 at stake (over $100)")
    assert '"disputing with my bank"' in reasons[RiskKind.THREAT]
    assert '"Better Business Bureau"' in reasons[RiskKind.THREAT]
    assert '"charged me THREE TIMES"' in reasons[RiskKind.TECHNICAL]
    assert '"unacceptable"' in reasons[RiskKind.ANGRY_TONE]


def test_declared_low_risk_does_not_hide_flags() -> None:
    draft = _draft(TRIPLE_CHARGE, risk=Risk.LOW)
    flags = risk_flags(draft, high_value_usd=100)
    assert requires_manager(flags)
    assert overall_risk(draft.risk, flags) is Risk.HIGH


def test_flags_come_from_the_customers_message_not_the_draft() -> None:
    alarming_reply = (
        "A chargeback or a BBB complaint won't help: Error 500 was fixed, your $5,000 wholesale "
        "refund needs a manager. THIS IS UNACCEPTABLE, this is the third time we asked!"
    )
    draft = _draft("Do you ship internationally?", text=alarming_reply, amount_usd=None)
    assert risk_flags(draft, high_value_usd=100) == ()


@pytest.mark.parametrize(
    "message",
    [
        "Do you ship internationally? I want to send a gift to my friend in Canada.",
        "Hi, I ordered 3 days ago and haven't received tracking info yet. Can you check on "
        "order #12345?",
        "Hi! I'm so excited about my order! When will it arrive? Order #55555",
        "How long does shipping to Texas take with USPS?",
        "Is the $150 jacket waterproof?",
        "Do you charge for shipping on a $150 order?",
        "Thanks, this is the third time I've ordered from you and I love it!!!",
        "Hi, this is Sue. Can I change my delivery address?",
        "I get that your manager is busy, but where's my package?",
        "I ordered 2 XL shirts, USPS says delivered.",
    ],
)
def test_ordinary_questions_raise_no_flags(message: str) -> None:
    assert _kinds(message, order=Order("1", 450.0)) == set()


# --- high value -----------------------------------------------------------------------------


def test_high_value_threshold_is_honoured() -> None:
    message = "Please refund the $90 I was overcharged."
    assert RiskKind.HIGH_VALUE not in _kinds(message, threshold=100)
    reason = _reason(message, RiskKind.HIGH_VALUE, threshold=50)
    assert reason == '$90 at stake (over $50): "$90" in the message'


def test_amount_exactly_at_the_threshold_is_not_over_it() -> None:
    assert RiskKind.HIGH_VALUE not in _kinds("Where is my refund?", amount_usd=100.0)
    assert RiskKind.HIGH_VALUE in _kinds("Where is my refund?", amount_usd=100.01)


def test_order_value_counts_only_when_the_customer_disputes_money() -> None:
    order = Order("78901", 450.0)
    assert RiskKind.HIGH_VALUE not in _kinds("Where is my order?", order=order)
    reason = _reason("I want a refund for this order.", RiskKind.HIGH_VALUE, order=order)
    assert reason == '$450 at stake (over $100): order #78901 value, with "refund" in the message'


def test_amounts_in_a_failed_checkout_are_at_stake() -> None:
    message = "Checkout keeps failing. My cart has 6 items worth about $350."
    assert "$350" in _reason(message, RiskKind.HIGH_VALUE)


# --- threats, exceptions, technical, B2B, manager, repeat, anger ----------------------------


@pytest.mark.parametrize(
    ("message", "quote"),
    [
        ("I'm filing a chargeback today.", '"chargeback"'),
        ("My lawyer will hear about this.", '"lawyer"'),
        ("I'm posting about this experience on social media!", '"social media"'),
        ("$500 refund NOW or I'm posting everywhere!", '"posting everywhere"'),
        ("Expect a one-star review.", '"one-star review"'),
    ],
)
def test_threats_are_flagged_with_their_words(message: str, quote: str) -> None:
    assert quote in _reason(message, RiskKind.THREAT)


def test_return_after_45_days_is_a_policy_exception() -> None:
    reason = _reason("Can I return after 45 days? I was traveling.", RiskKind.POLICY_EXCEPTION)
    assert "45 days" in reason
    assert "30-day" in reason


def test_asking_past_thirty_days_is_a_policy_exception() -> None:
    message = "Can I please return it even though it's been more than 30 days?"
    assert "even though it's been more than 30 days" in _reason(message, RiskKind.POLICY_EXCEPTION)


@pytest.mark.parametrize(
    "message",
    [
        "Can I return this after 20 days?",
        "I bought this 3 weeks ago. Can I still return it if I changed my mind?",
        "I ordered 45 days ago and it never came.",
    ],
)
def test_returns_within_the_window_are_not_exceptions(message: str) -> None:
    assert RiskKind.POLICY_EXCEPTION not in _kinds(message)


@pytest.mark.parametrize(
    ("message", "quote"),
    [
        ("Error 500 during checkout for 2 hours. Can't complete purchase.", '"Error 500"'),
        ("Error 500 during checkout for 2 hours. Can't complete purchase.", "Can't complete"),
        ("Your website is down.", '"website is down"'),
        ("I was double charged for my order.", '"double charged"'),
    ],
)
def test_technical_issues_are_flagged(message: str, quote: str) -> None:
    assert quote in _reason(message, RiskKind.TECHNICAL)


def test_b2b_inquiries_are_flagged() -> None:
    reason = _reason("We'd like wholesale pricing on net 30 terms.", RiskKind.B2B)
    assert '"wholesale"' in reason
    assert '"net 30"' in reason


@pytest.mark.parametrize(
    "message",
    [
        "I want to speak to a manager.",
        "Get me your supervisor.",
        "Is there a manager I can talk to?",
    ],
)
def test_asking_for_a_manager_is_flagged(message: str) -> None:
    assert RiskKind.MANAGER_REQUESTED in _kinds(message)


def test_repeat_contact_is_flagged_and_quoted() -> None:
    reason = _reason("I contacted you twice and still no answer.", RiskKind.REPEAT_CONTACT)
    assert '"contacted you twice"' in reason
    assert '"still no answer"' in reason


def test_one_capitalised_word_is_emphasis_not_shouting() -> None:
    assert RiskKind.ANGRY_TONE not in _kinds("I ordered the BLUE one, can you check?")
    assert RiskKind.ANGRY_TONE in _kinds("I ordered the BLUE one and you sent RED.")


def test_interrobang_and_angry_words_are_angry_tone() -> None:
    reason = _reason("Seriously?! This is so frustrating.", RiskKind.ANGRY_TONE)
    assert '"Seriously?!"' in reason
    assert '"frustrating"' in reason


# --- what the flags mean ---------------------------------------------------------------------


def test_always_escalate_list_matches_the_seeds() -> None:
    assert (
        frozenset(
            {
                RiskKind.HIGH_VALUE,
                RiskKind.THREAT,
                RiskKind.POLICY_EXCEPTION,
                RiskKind.TECHNICAL,
                RiskKind.B2B,
                RiskKind.MANAGER_REQUESTED,
            }
        )
        == ALWAYS_ESCALATE
    )


def test_anger_and_repeat_contact_alone_do_not_need_a_manager() -> None:
    flags = (RiskFlag(RiskKind.ANGRY_TONE, "x"), RiskFlag(RiskKind.REPEAT_CONTACT, "y"))
    assert not requires_manager(flags)
    assert overall_risk(Risk.LOW, flags) is Risk.MEDIUM
    assert suggested_urgency(flags) is Urgency.NORMAL


def test_declared_risk_is_never_lowered() -> None:
    assert overall_risk(Risk.HIGH, ()) is Risk.HIGH
    assert overall_risk(Risk.LOW, ()) is Risk.LOW


def _flags(*kinds: RiskKind) -> tuple[RiskFlag, ...]:
    return tuple(RiskFlag(kind, kind.value) for kind in kinds)


@pytest.mark.parametrize(
    ("kinds", "urgency"),
    [
        ((RiskKind.THREAT,), Urgency.URGENT),
        ((RiskKind.HIGH_VALUE, RiskKind.ANGRY_TONE), Urgency.URGENT),
        ((RiskKind.HIGH_VALUE, RiskKind.REPEAT_CONTACT), Urgency.URGENT),
        ((RiskKind.TECHNICAL, RiskKind.HIGH_VALUE), Urgency.URGENT),
        ((RiskKind.POLICY_EXCEPTION,), Urgency.HIGH),
        ((RiskKind.TECHNICAL, RiskKind.ANGRY_TONE), Urgency.HIGH),
        ((RiskKind.ANGRY_TONE,), Urgency.NORMAL),
        ((), Urgency.NORMAL),
    ],
)
def test_suggested_urgency(kinds: tuple[RiskKind, ...], urgency: Urgency) -> None:
    assert suggested_urgency(_flags(*kinds)) is urgency


@pytest.mark.parametrize(
    ("kinds", "escalation_type"),
    [
        (
            (RiskKind.HIGH_VALUE, RiskKind.THREAT, RiskKind.TECHNICAL),
            EscalationType.HIGH_VALUE,
        ),
        ((RiskKind.THREAT,), EscalationType.LEGAL_THREAT),
        ((RiskKind.HIGH_VALUE, RiskKind.TECHNICAL), EscalationType.TECHNICAL),
        ((RiskKind.POLICY_EXCEPTION, RiskKind.HIGH_VALUE), EscalationType.POLICY_EXCEPTION),
        ((RiskKind.B2B,), EscalationType.B2B),
        ((RiskKind.MANAGER_REQUESTED,), EscalationType.OTHER),
        ((), EscalationType.OTHER),
    ],
)
def test_suggested_escalation_type(
    kinds: tuple[RiskKind, ...], escalation_type: EscalationType
) -> None:
    assert suggested_escalation_type(_flags(*kinds)) is escalation_type


# --- SLA -------------------------------------------------------------------------------------


def test_sla_defaults_are_15_60_240_minutes() -> None:
    assert sla_due(Urgency.URGENT, NOW) == NOW + timedelta(minutes=15)
    assert sla_due(Urgency.HIGH, NOW) == NOW + timedelta(hours=1)
    assert sla_due(Urgency.NORMAL, NOW) == NOW + timedelta(hours=4)


def test_sla_accepts_fractional_minutes() -> None:
    minutes = {Urgency.URGENT: 0.5, Urgency.HIGH: 1.25, Urgency.NORMAL: 2}
    assert sla_due(Urgency.URGENT, NOW, minutes) == NOW + timedelta(seconds=30)
    assert sla_due(Urgency.HIGH, NOW, minutes) == NOW + timedelta(seconds=75)


def test_sla_refuses_non_positive_minutes() -> None:
    with pytest.raises(ValueError, match="positive"):
        sla_due(Urgency.URGENT, NOW, {Urgency.URGENT: 0})


# --- escalation notes ------------------------------------------------------------------------

SECTIONS = [
    "ESCALATION TYPE:",
    "URGENCY:",
    "CUSTOMER:",
    "CONVERSATION ID:",
    "ORDER:",
    "ISSUE SUMMARY:",
    "REASON FOR ESCALATION:",
    "IMMEDIATE ACTIONS NEEDED:",
    "CUSTOMER CONTEXT:",
    "SUGGESTED RESOLUTION:",
]


def _positions(notes: str) -> list[int]:
    return [notes.index(section) for section in SECTIONS]


def test_notes_follow_the_seeds_structure_with_the_draft_filled_in() -> None:
    draft = _triple_charge_draft()
    flags = risk_flags(draft, high_value_usd=100)
    notes = escalation_notes_template(draft, flags, draft_id="d-42")

    assert _positions(notes) == sorted(_positions(notes))
    assert "ESCALATION TYPE: High-Value Issue + Legal/Regulatory Threat" in notes
    assert "URGENCY: URGENT (15-minute SLA)" in notes
    assert "CUSTOMER: Michael Richards (michael@example.com)" in notes
    assert "CONVERSATION ID: #103" in notes
    assert "d-42" in notes
    assert "ORDER: #78901 ($450)" in notes
    assert "I'm disputing with my bank" in notes
    for number, flag in enumerate(flags, start=1):
        assert f"{number}. {flag.reason}" in notes
    assert "15 orders, $2,100 lifetime value" in notes
    assert len(notes) < NOTES_MAX_CHARS


def test_notes_stay_under_slacks_limit_for_a_huge_message() -> None:
    message = ("I was charged twice and want a refund of $900. " * 250)[:10_000]
    draft = _draft(message, customer=Customer("N" * 5000, "e" * 5000 + "@example.com"))
    flags = risk_flags(draft, high_value_usd=100)
    notes = escalation_notes_template(draft, flags, draft_id="d-1")

    assert len(notes) < NOTES_MAX_CHARS == 3000
    assert _positions(notes) == sorted(_positions(notes))
    summary = notes.split("ISSUE SUMMARY:\n", 1)[1].split("\n", 1)[0]
    assert summary.endswith("…")
    assert flags, "$900 at stake and a double charge raise flags"
    assert all(flag.reason in notes for flag in flags)


def test_notes_without_flags_or_details_leave_blanks_for_the_operator() -> None:
    notes = escalation_notes_template(_draft("What about my thing?"), (), draft_id="d-2")
    assert "URGENCY: NORMAL (240-minute SLA)" in notes
    assert "CUSTOMER: unknown" in notes
    assert "ORDER: none" in notes
    assert "REASON FOR ESCALATION:\n1. \n" in notes
    assert "not available" in notes
