"""Building decision_log rows, and their exported form."""

from __future__ import annotations

from typing import Any

from bot.domain import Action, Draft, LogEntry, Outcome, Scope
from bot.rules.risk import confidence_band, overall_risk
from bot.services import Services


def entry(
    services: Services,
    action: Action,
    *,
    subject_id: str,
    conversation_id: int | None,
    payload: dict[str, Any],
    actor: str = "system",
    outcome: Outcome = Outcome.SUCCESS,
    scope: Scope = Scope.CX,
) -> LogEntry:
    return LogEntry(
        id=services.new_id("log"),
        created_at=services.clock(),
        actor=actor,
        action=action,
        scope=scope,
        subject_id=subject_id,
        conversation_id=conversation_id,
        payload=payload,
        outcome=outcome,
    )


def draft_entry(
    services: Services,
    action: Action,
    draft: Draft,
    payload: dict[str, Any],
    *,
    actor: str = "system",
    outcome: Outcome = Outcome.SUCCESS,
) -> LogEntry:
    return entry(
        services,
        action,
        subject_id=draft.id,
        conversation_id=draft.input.conversation_id,
        payload=payload,
        actor=actor,
        outcome=outcome,
        scope=draft.scope,
    )


def assessment(draft: Draft) -> dict[str, Any]:
    """What the bot saw in a draft, repeated in each decision row so rows stand alone."""
    return {
        "confidence": draft.input.confidence,
        "band": confidence_band(draft.input.confidence).value,
        "declared_risk": draft.input.risk.value,
        "risk": overall_risk(draft.input.risk, draft.flags).value,
        "flags": [{"kind": f.kind.value, "reason": f.reason} for f in draft.flags],
    }


def export_row(entry: LogEntry) -> dict[str, Any]:
    """A log row as exported, one JSON object a line (`occ-bot export`, `/occ export`)."""
    return {
        "id": entry.id,
        "created_at": entry.created_at.isoformat().replace("+00:00", "Z"),
        "actor": entry.actor,
        "action": str(entry.action),
        "scope": entry.scope.value,
        "subject_id": entry.subject_id,
        "conversation_id": entry.conversation_id,
        "payload": entry.payload,
        "outcome": entry.outcome.value,
    }
