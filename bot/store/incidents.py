"""Incidents, one row per thing that can fail: the table, its rows, and the store, on any
`Database`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Table, Text

from bot.domain import Incident, LogEntry, Scope
from bot.store import codec
from bot.store.codec import Row
from bot.store.columns import SCOPES, UtcDateTime, check_in, metadata
from bot.store.database import Database
from bot.store.decision_log import log_insert
from bot.store.ops import Change, Insert, Query, Update, eq, is_null, not_null

# An incident (a dependency failing, later a stale source or a sales condition) is one row
# keyed by what it is about: opening it is one conditional write, so it alerts once and
# recovers once however many replicas see it.
incidents_table = Table(
    "incidents",
    metadata,
    Column("id", Text, primary_key=True),
    Column("scope", Text, nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("detail", Text, nullable=False, server_default=""),
    Column("closed_at", UtcDateTime),
    check_in("scope", SCOPES),
)
TABLE = incidents_table.name


def incident_row(incident: Incident) -> Row:
    return {
        "id": incident.id,
        "scope": Scope(incident.scope).value,
        "opened_at": codec.utc(incident.opened_at),
        "detail": incident.detail,
        "closed_at": codec.opt_utc(incident.closed_at),
    }


def incident_from_row(row: Mapping[str, Any]) -> Incident:
    return Incident(
        id=row["id"],
        scope=Scope(row["scope"]),
        opened_at=codec.required_ts(row["opened_at"]),
        detail=row["detail"],
        closed_at=codec.parse_ts(row["closed_at"]),
    )


class Incidents:
    """Open and closed incidents, one row per thing that can fail."""

    db: Database

    async def open_incident(self, incident: Incident, log: LogEntry) -> Incident | None:
        """Open (or reopen) the incident with its log row; None if it is already open."""
        row = incident_row(incident)
        opened = await self.db.apply(
            Change(Insert(TABLE, row, ignore_conflict=True), (log_insert(log),))
        )
        if opened is None:  # known before: reopen it, unless it is open now
            reopen = Update(
                TABLE,
                (eq("id", incident.id), not_null("closed_at")),
                {"opened_at": row["opened_at"], "detail": row["detail"], "closed_at": None},
            )
            opened = await self.db.apply(Change(reopen, (log_insert(log),)))
        return None if opened is None else incident_from_row(opened)

    async def close_incident(
        self, incident_id: str, *, now: datetime, log: LogEntry
    ) -> Incident | None:
        """Close an open incident with its log row; None if it is not open."""
        close = Update(
            TABLE,
            (eq("id", incident_id), is_null("closed_at")),
            {"closed_at": codec.utc(now)},
        )
        closed = await self.db.apply(Change(close, (log_insert(log),)))
        return None if closed is None else incident_from_row(closed)

    async def open_incidents(self) -> list[Incident]:
        """The incidents open now, by id."""
        rows = await self.db.select(Query(TABLE, (is_null("closed_at"),), order_by=("id",)))
        return [incident_from_row(row) for row in rows]
