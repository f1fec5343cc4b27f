"""The decision log, on any `Database`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain import Action, LogEntry, Scope
from bot.store import codec
from bot.store.database import Database
from bot.store.ops import Change, Cond, Insert, Query, eq, one_of


def log_insert(entry: LogEntry) -> Insert:
    """The decision_log row that goes with a change (written in its transaction)."""
    return Insert("decision_log", codec.log_row(entry))


class DecisionLogRows:
    db: Database

    async def log(self, entry: LogEntry) -> None:
        row = codec.log_row(entry)
        await self.db.apply(Change(Insert("decision_log", row, ignore_conflict=True)))

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
        query = Query("decision_log", tuple(where), order_by=("created_at", "seq"))
        return [codec.log_from_row(row) for row in await self.db.select(query)]
