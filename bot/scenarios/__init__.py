"""The scenario packet from the source documents (seeds/000): 3 demos, 8 exercises, and the
short practice-packet items whose text differs, each with the decision the training expects.

``packet.json`` is package data; every ``draft_input`` is a draft in CONTRACT.md's JSON shape,
so it can be posted to ``POST /drafts`` as is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from bot.domain import DecisionKind, DraftInput, RiskKind, Urgency
from bot.web.draft_body import parse_draft


@dataclass(frozen=True)
class Expected:
    """What a trained operator should end up with for a scenario."""

    must_escalate: bool
    flags: frozenset[RiskKind]  # flags the policy must raise, at least
    decision: DecisionKind
    urgency: Urgency | None
    why: str


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    payload: dict[str, Any]  # the draft as JSON, exactly what POST /drafts accepts
    draft: DraftInput
    expected: Expected
    note: str | None = None


def load_packet() -> list[Scenario]:
    """Every scenario in packet order."""
    text = files(__package__).joinpath("packet.json").read_text(encoding="utf-8")
    return [_scenario(entry) for entry in json.loads(text)]


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
        ),
        note=entry.get("note"),
    )
