"""Scoring a trainee's decision on a training card against the packet, and the bar that
certifies them (seeds/000: 80 %+ of decisions correct)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import DecisionKind, Urgency
from bot.scenarios import Scenario

PASS_PERCENT = 80

APPROVE, EDIT, REJECT, ESCALATE = (
    DecisionKind.APPROVE,
    DecisionKind.EDIT,
    DecisionKind.REJECT,
    DecisionKind.ESCALATE,
)
NO_MANAGER = "Nothing here needs a manager, and escalating it spends a manager's time (the team "
NO_MANAGER += "aims at 10-15 % escalations)"

# (expected, chosen) -> what the chosen decision gets wrong
LESSONS: dict[tuple[DecisionKind, DecisionKind], str] = {
    (APPROVE, EDIT): "The draft was right as it was: editing a good draft costs time.",
    (APPROVE, REJECT): "The draft was right as it was: rejecting it keeps a good answer from "
    "the customer.",
    (APPROVE, ESCALATE): f"{NO_MANAGER}.",
    (EDIT, APPROVE): "Approving sends the draft as it is, with what it lacks.",
    (EDIT, REJECT): "The draft is a good base: edit what it lacks rather than throw it away.",
    (EDIT, ESCALATE): f"{NO_MANAGER}: an edit fixes this draft.",
    (REJECT, APPROVE): "Approving sends a wrong reply to the customer.",
    (REJECT, EDIT): "Reject it, with notes: the rejection tells the system its draft was "
    "wrong, so the source gets fixed; then answer the customer yourself.",
    (REJECT, ESCALATE): f"{NO_MANAGER}: reject it and handle it yourself.",
    (ESCALATE, APPROVE): "This needs a manager: sending it decides what only a manager may. "
    "(In the live queue the bot refuses to send a draft with these flags for anyone but a "
    "manager.)",
    (ESCALATE, EDIT): "This needs a manager: no edit makes it yours to send. (In the live "
    "queue the bot refuses to send a draft with these flags for anyone but a manager.)",
    (ESCALATE, REJECT): "Rejecting keeps the draft from the customer, but nobody with the "
    "authority to act ever sees the case: escalate it, with notes.",
}
URGENT_LESSON = (
    "Right to escalate, but as {chosen}: the documents call this URGENT (15-minute SLA), and at "
    "a lower urgency no manager may look at it for hours."
)


@dataclass(frozen=True)
class Score:
    """One training decision, marked."""

    scenario: str
    chosen: DecisionKind
    expected: DecisionKind
    correct: bool
    urgency: Urgency | None = None  # what an escalation was marked
    lesson: str | None = None  # what the choice gets wrong; None when it is right

    def as_payload(self) -> dict[str, object]:
        return {
            "scenario": self.scenario,
            "chosen": self.chosen.value,
            "expected": self.expected.value,
            "correct": self.correct,
            "urgency": self.urgency.value if self.urgency else None,
        }


def score(scenario: Scenario, chosen: DecisionKind, urgency: Urgency | None = None) -> Score:
    """Right when the decision is the packet's (or one it calls defensible) and, where the
    documents call the case URGENT, it is escalated as Urgent."""
    expected = scenario.expected
    right_kind = chosen is expected.decision or chosen in expected.also_accepted
    lesson = None if right_kind else LESSONS.get((expected.decision, chosen))
    urgent = chosen is ESCALATE and expected.urgency is Urgency.URGENT
    if right_kind and urgent and urgency is not Urgency.URGENT:
        right_kind = False
        lesson = URGENT_LESSON.format(chosen=(urgency or Urgency.NORMAL).value.capitalize())
    return Score(
        scenario=scenario.key,
        chosen=chosen,
        expected=expected.decision,
        correct=right_kind,
        urgency=urgency if chosen is ESCALATE else None,
        lesson=lesson,
    )


def needed(total: int) -> int:
    """Correct decisions out of ``total`` that reach the bar (9 of the packet's 11)."""
    return -(-total * PASS_PERCENT // 100)


def certified(correct: int, total: int) -> bool:
    return total > 0 and correct >= needed(total)
