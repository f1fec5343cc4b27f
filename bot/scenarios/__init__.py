"""The scenario packet from the source documents (seeds/000): 3 demos, 8 exercises, and the
short practice-packet items whose text differs, each with the decision the training expects
and, for the demos and exercises, the draft checked against the 5-question framework.

``packet.json`` is package data; every ``draft_input`` is a draft in the JSON shape that
docs/interface.md describes, so it can be posted to ``POST /drafts`` as is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib.resources import files
from typing import Any

from bot.domain import DecisionKind, DraftInput, RiskKind, Urgency
from bot.draft_body import parse_draft


class Verdict(StrEnum):
    PASS = "pass"
    WATCH = "watch"  # not wrong, but needs care
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    """One question of the 5-question framework, asked of the scenario's draft."""

    name: str  # accuracy, completeness, tone, clarity, risk
    verdict: Verdict
    note: str


@dataclass(frozen=True)
class Expected:
    """What a trained operator should end up with for a scenario."""

    must_escalate: bool
    flags: frozenset[RiskKind]  # flags the policy must raise, at least
    decision: DecisionKind
    urgency: Urgency | None
    why: str
    framework: tuple[Check, ...] = ()
    also_accepted: frozenset[DecisionKind] = frozenset()  # other defensible decisions


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    payload: dict[str, Any]  # the draft as JSON, exactly what POST /drafts accepts
    draft: DraftInput
    expected: Expected
    note: str | None = None

    @property
    def label(self) -> str:
        """The title less its description (which hints at the answer): Demo 2, Exercise 3."""
        return self.title.split(":", 1)[0]


FRAMEWORK = ("accuracy", "completeness", "tone", "clarity", "risk")
TRAINING_PREFIXES = ("demo-", "exercise-")


def load_packet() -> list[Scenario]:
    """Every scenario in packet order."""
    text = files(__package__).joinpath("packet.json").read_text(encoding="utf-8")
    return [_scenario(entry) for entry in json.loads(text)]


@cache
def training_packet() -> tuple[Scenario, ...]:
    """What `/occ training start` posts: the three demos, then the eight exercises."""
    return tuple(s for s in load_packet() if s.key.startswith(TRAINING_PREFIXES))


def training_scenario(key: str) -> Scenario | None:
    return next((s for s in training_packet() if s.key == key), None)


def _scenario(entry: dict[str, Any]) -> Scenario:
    expected = entry["expected"]
    urgency = expected.get("urgency")
    return Scenario(
        key=entry["key"],
        title=entry["title"],
        payload=entry["draft_input"],
        draft=parse_draft(entry["draft_input"]),
        expected=Expected(
            must_escalate=expected["must_escalate"],
            flags=frozenset(RiskKind(flag) for flag in expected["flags"]),
            decision=DecisionKind(expected["decision"]),
            urgency=Urgency(urgency) if urgency else None,
            why=expected["why"],
            framework=tuple(
                Check(name=check["check"], verdict=Verdict(check["verdict"]), note=check["note"])
                for check in expected.get("framework", ())
            ),
            also_accepted=frozenset(DecisionKind(d) for d in expected.get("also_accepted", ())),
        ),
        note=entry.get("note"),
    )
