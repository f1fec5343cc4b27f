"""The decision log: one row per action, on any `Database`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Float, Identity, Index, Integer, Table, Text, text

from bot.domain import Action, LogEntry, Outcome, Scope
from bot.store import codec
from bot.store.codec import Row
from bot.store.columns import SCOPES, Json, UtcDateTime, check_in, metadata, partial_index
from bot.store.database import Database
from bot.store.ops import Change, Cond, Insert, Query, eq, one_of

OUTCOMES = ("success", "retry", "failed", "timeout", "refused")
FIGURES = "scope = 'cx' and outcome = 'success'"  # what the team's numbers count
TRAINING = "scope = 'training'"

# `seq` numbers rows as they arrive: the tie-break for rows with the same created_at.
decision_log_table = Table(
    "decision_log",
    metadata,
    Column("id", Text, primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("scope", Text, nullable=False),
    Column("subject_id", Text, nullable=False),
    Column("conversation_id", BigInteger),
    Column("payload", Json, nullable=False, server_default=text("'{}'")),
    Column("outcome", Text, nullable=False),
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), Identity(always=True)),
    # payload's waited_seconds (card → decision) as a column: the team's median and p90 are
    # then read from an index, not parsed out of every row's JSON.
    Column("waited_seconds", Float),
    check_in("scope", SCOPES),
    check_in("outcome", OUTCOMES),
    Index("decision_log_created_idx", "created_at", "seq"),
    Index("decision_log_subject_idx", "subject_id", "created_at", "seq"),
    # The team's numbers (the views of migration 0013): counted and ordered from the index.
    partial_index(
        "decision_log_figures_idx", "action", "created_at", "actor", "waited_seconds", where=FIGURES
    ),
    Index("decision_log_actor_idx", "actor", "action", "created_at"),
    # `/occ training report`: the few training rows, found without reading the live ones.
    partial_index("decision_log_training_idx", "created_at", "seq", where=TRAINING),
)
TABLE = decision_log_table.name


def log_row(entry: LogEntry) -> Row:
    """A decision_log row without ``seq`` (the database numbers rows as they arrive)."""
    action = entry.action.value if isinstance(entry.action, Action) else str(entry.action)
    return {
        "id": entry.id,
        "created_at": codec.utc(entry.created_at),
        "actor": entry.actor,
        "action": action,
        "scope": Scope(entry.scope).value,
        "subject_id": entry.subject_id,
        "conversation_id": entry.conversation_id,
        "payload": codec.jsonable(entry.payload),
        "outcome": Outcome(entry.outcome).value,
        "waited_seconds": _waited(entry.payload),
    }


def _waited(payload: Mapping[str, Any]) -> float | None:
    value = payload.get("waited_seconds") if isinstance(payload, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _action(value: str) -> Action | str:
    try:
        return Action(value)
    except ValueError:
        return value


def log_from_row(row: Mapping[str, Any]) -> LogEntry:
    conversation_id = row["conversation_id"]
    return LogEntry(
        id=row["id"],
        created_at=codec.required_ts(row["created_at"]),
        actor=row["actor"],
        action=_action(row["action"]),
        scope=Scope(row["scope"]),
        subject_id=row["subject_id"],
        conversation_id=None if conversation_id is None else int(conversation_id),
        payload=codec.json_column(row["payload"]),
        outcome=Outcome(row["outcome"]),
    )


def log_insert(entry: LogEntry) -> Insert:
    """The decision_log row that goes with a change (written in its transaction)."""
    return Insert(TABLE, log_row(entry))


class DecisionLogRows:
    """The audit trail: one row per action."""

    db: Database

    async def log(self, entry: LogEntry) -> None:
        """Write one row; writing the same id again is a no-op (safe to retry)."""
        await self.db.apply(Change(Insert(TABLE, log_row(entry), ignore_conflict=True)))

    async def entries(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        subject_id: str | None = None,
        scope: Scope | None = None,
        actions: Sequence[Action] = (),
        actor: str | None = None,
    ) -> list[LogEntry]:
        """Log rows with since <= created_at < until, oldest first (ties: insertion order);
        only those of ``subject_id``, ``scope``, ``actor`` and one of ``actions`` when given."""
        where: list[Cond] = []
        if since is not None:
            where.append(Cond("created_at", "gte", codec.utc(since)))
        if until is not None:
            where.append(Cond("created_at", "lt", codec.utc(until)))
        if subject_id is not None:
            where.append(eq("subject_id", subject_id))
        if scope is not None:
            where.append(eq("scope", scope.value))
        if actions:
            where.append(one_of("action", [action.value for action in actions]))
        if actor is not None:
            where.append(eq("actor", actor))
        query = Query(TABLE, tuple(where), order_by=("created_at", "seq"))
        return [log_from_row(row) for row in await self.db.select(query)]
