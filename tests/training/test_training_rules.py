"""Marking a training decision against the packet, and the 80 % certification bar."""

from __future__ import annotations

import pytest

from bot.domain import DecisionKind, Urgency
from bot.rules.training import certified, needed, score
from bot.scenarios import FRAMEWORK, Scenario, training_packet, training_scenario

PACKET = training_packet()


def test_training_posts_the_three_demos_then_the_eight_exercises() -> None:
    keys = [scenario.key for scenario in PACKET]
    assert len(keys) == 11
    assert [key.split("-")[0] for key in keys] == ["demo"] * 3 + ["exercise"] * 8
    assert training_scenario("practice-1-return-policy") is None


@pytest.mark.parametrize("scenario", PACKET, ids=lambda s: s.key)
def test_every_training_item_is_checked_on_all_five_questions(scenario: Scenario) -> None:
    framework = scenario.expected.framework
    assert tuple(check.name for check in framework) == FRAMEWORK
    assert all(check.note.strip() for check in framework)


@pytest.mark.parametrize("scenario", PACKET, ids=lambda s: s.key)
def test_the_expected_decision_scores_right_and_every_other_scores_wrong_with_a_lesson(
    scenario: Scenario,
) -> None:
    expected = scenario.expected
    right = score(scenario, expected.decision, expected.urgency)
    assert right.correct and right.lesson is None
    for other in set(DecisionKind) - {expected.decision} - expected.also_accepted:
        wrong = score(scenario, other, Urgency.URGENT if other is DecisionKind.ESCALATE else None)
        assert not wrong.correct
        assert wrong.lesson


def test_an_urgent_case_escalated_at_a_lower_urgency_is_a_miss() -> None:
    angry = training_scenario("exercise-6-angry-high-value")
    assert angry is not None

    marked = score(angry, DecisionKind.ESCALATE, Urgency.HIGH)

    assert not marked.correct
    assert "URGENT" in (marked.lesson or "") and "High" in (marked.lesson or "")


def test_a_non_urgent_escalation_is_right_at_any_urgency() -> None:
    exception = training_scenario("exercise-5-policy-exception")
    assert exception is not None
    assert score(exception, DecisionKind.ESCALATE, Urgency.NORMAL).correct


def test_approving_the_clarifying_question_is_defensible_too() -> None:
    ambiguous = training_scenario("exercise-4-ambiguous")
    assert ambiguous is not None
    assert score(ambiguous, DecisionKind.REJECT).correct
    assert score(ambiguous, DecisionKind.APPROVE).correct
    assert not score(ambiguous, DecisionKind.ESCALATE).correct


@pytest.mark.parametrize(
    ("correct", "total", "passes"),
    [(9, 11, True), (8, 11, False), (11, 11, True), (0, 0, False), (4, 5, True), (3, 5, False)],
)
def test_the_bar_is_eighty_percent_rounded_up(correct: int, total: int, passes: bool) -> None:
    assert certified(correct, total) is passes
    assert needed(11) == 9
