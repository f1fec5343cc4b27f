"""The scenario packet: contract-shaped drafts whose flags and decisions match the training."""

from __future__ import annotations

import pytest

from bot.domain import Band, DecisionKind, RiskKind, Urgency
from bot.rules.risk import confidence_band, requires_manager, risk_flags, suggested_urgency
from bot.scenarios import Scenario, load_packet

DRAFT_KEYS = {
    "conversation_id",
    "customer",
    "customer_message",
    "draft",
    "confidence",
    "kb_sources",
    "risk",
    "agent",
    "order",
    "amount_usd",
    "customer_context",
    "external_id",
}
PACKET = load_packet()
BY_KEY = {scenario.key: scenario for scenario in PACKET}


def _kinds(scenario: Scenario) -> set[RiskKind]:
    return {flag.kind for flag in risk_flags(scenario.draft, high_value_usd=100)}


def _flagged_for_escalation(scenario: Scenario) -> bool:
    return requires_manager(risk_flags(scenario.draft, high_value_usd=100))


def test_packet_holds_every_demo_and_exercise() -> None:
    ids = sorted(scenario.draft.conversation_id for scenario in PACKET)
    assert {101, 102, 103} <= set(ids)
    assert set(range(201, 209)) <= set(ids)
    assert len(ids) == len(set(ids))
    assert len(BY_KEY) == len(PACKET)
    external_ids = [scenario.payload["external_id"] for scenario in PACKET]
    assert len(set(external_ids)) == len(PACKET)


@pytest.mark.parametrize("scenario", PACKET, ids=lambda s: s.key)
def test_draft_input_has_the_contract_shape(scenario: Scenario) -> None:
    payload = scenario.payload
    assert set(payload) == DRAFT_KEYS
    assert set(payload["customer"]) == {"name", "email"}
    assert payload["customer"]["email"].endswith("@example.com")
    assert 0 <= payload["confidence"] <= 1
    assert payload["risk"] in {"low", "medium", "high"}
    for source in payload["kb_sources"]:
        assert set(source) == {"title", "version", "relevance", "url"}
    if payload["order"] is not None:
        assert set(payload["order"]) == {"id", "value_usd"}
    if payload["customer_context"] is not None:
        assert set(payload["customer_context"]) == {"orders", "lifetime_value_usd"}
    assert scenario.draft.customer_message == payload["customer_message"]
    assert scenario.draft.draft == payload["draft"]


@pytest.mark.parametrize("scenario", PACKET, ids=lambda s: s.key)
def test_policy_reaches_the_expected_outcome(scenario: Scenario) -> None:
    flags = risk_flags(scenario.draft, high_value_usd=100)
    assert scenario.expected.flags <= {flag.kind for flag in flags}
    assert requires_manager(flags) is scenario.expected.must_escalate
    assert (scenario.expected.decision is DecisionKind.ESCALATE) is scenario.expected.must_escalate
    if scenario.expected.must_escalate:
        assert suggested_urgency(flags) is scenario.expected.urgency
    else:
        assert scenario.expected.urgency is None


@pytest.mark.parametrize(
    "key",
    [
        "demo-3-triple-charge",
        "exercise-6-angry-high-value",
        "practice-6-third-time-500-refund",
        "exercise-7-checkout-error-500",
        "practice-7-error-500",
        "practice-5-return-after-45-days",
        "exercise-5-policy-exception",
    ],
)
def test_the_issues_must_escalate_cases_are_flagged(key: str) -> None:
    assert _flagged_for_escalation(BY_KEY[key])


def test_triple_charge_and_angry_500_are_urgent() -> None:
    for key in ("demo-3-triple-charge", "exercise-6-angry-high-value"):
        flags = risk_flags(BY_KEY[key].draft, high_value_usd=100)
        assert suggested_urgency(flags) is Urgency.URGENT


@pytest.mark.parametrize(
    "key",
    ["demo-1-order-status", "exercise-1-international-shipping", "exercise-2-add-warmth"],
)
def test_order_status_and_shipping_questions_raise_no_flags(key: str) -> None:
    assert _kinds(BY_KEY[key]) == set()


def test_the_frustrated_wrong_item_customer_is_an_edit_not_an_escalation() -> None:
    scenario = BY_KEY["demo-2-wrong-item"]
    assert RiskKind.ANGRY_TONE in _kinds(scenario)
    assert not _flagged_for_escalation(scenario)
    assert scenario.expected.decision is DecisionKind.EDIT


def test_demo_confidences_fall_in_the_documented_bands() -> None:
    assert confidence_band(BY_KEY["demo-1-order-status"].draft.confidence) is Band.HIGH
    assert confidence_band(BY_KEY["demo-2-wrong-item"].draft.confidence) is Band.MEDIUM
    assert confidence_band(BY_KEY["demo-3-triple-charge"].draft.confidence) is Band.LOW


def test_elided_seed_texts_are_marked_as_written_by_us() -> None:
    practice = [scenario for scenario in PACKET if scenario.key.startswith("practice-")]
    assert practice
    assert all(scenario.note and "elided" in scenario.note for scenario in practice)
