"""Data sources' freshness, on any `Database`: a read's outcome is an upsert of its row."""

from __future__ import annotations

from datetime import datetime

from bot.domain import SourceStatus
from bot.store import codec
from bot.store.database import Database
from bot.store.ops import AnyOf, Change, Insert, Query, Update, before, eq, is_null

TABLE = "data_sources"


class DataSources:
    db: Database

    async def record_read(self, name: str, *, at: datetime, error: str | None = None) -> None:
        """A read of ``name`` succeeded (no ``error``) or failed; kept per source, not per
        read, so this is cheap enough for every run."""
        when = codec.utc(at)
        values = (
            {"last_ok_at": when}
            if error is None
            else {
                "last_error": error[:500],
                "last_error_at": when,
            }
        )
        row = {"name": name, "first_tried_at": when, **values}
        inserted = await self.db.apply(Change(Insert(TABLE, row, ignore_conflict=True)))
        if inserted is None:  # only ever forward: a slow run finishing late changes nothing
            column = "last_ok_at" if error is None else "last_error_at"
            newer = AnyOf(((is_null(column),), (before(column, when),)))
            await self.db.apply(Change(Update(TABLE, (eq("name", name), newer), values)))

    async def data_sources(self) -> list[SourceStatus]:
        rows = await self.db.select(Query(TABLE, (), order_by=("name",)))
        return [codec.source_status_from_row(row) for row in rows]
