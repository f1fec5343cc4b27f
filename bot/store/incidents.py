"""Incidents, one row per thing that can fail, on any `Database`."""

from __future__ import annotations

from datetime import datetime

from bot.domain import Incident, LogEntry
from bot.store import codec
from bot.store.database import Database
from bot.store.decision_log import log_insert
from bot.store.ops import Change, Insert, Query, Update, eq, is_null, not_null


class Incidents:
    db: Database

    async def open_incident(self, incident: Incident, log: LogEntry) -> Incident | None:
        row = codec.incident_row(incident)
        opened = await self.db.apply(
            Change(Insert("incidents", row, ignore_conflict=True), (log_insert(log),))
        )
        if opened is None:  # known before: reopen it, unless it is open now
            reopen = Update(
                "incidents",
                (eq("id", incident.id), not_null("closed_at")),
                {"opened_at": row["opened_at"], "detail": row["detail"], "closed_at": None},
            )
            opened = await self.db.apply(Change(reopen, (log_insert(log),)))
        return None if opened is None else codec.incident_from_row(opened)

    async def close_incident(
        self, incident_id: str, *, now: datetime, log: LogEntry
    ) -> Incident | None:
        close = Update(
            "incidents",
            (eq("id", incident_id), is_null("closed_at")),
            {"closed_at": codec.utc(now)},
        )
        closed = await self.db.apply(Change(close, (log_insert(log),)))
        return None if closed is None else codec.incident_from_row(closed)

    async def open_incidents(self) -> list[Incident]:
        rows = await self.db.select(Query("incidents", (is_null("closed_at"),), order_by=("id",)))
        return [codec.incident_from_row(row) for row in rows]
