"""Data sources' freshness: the table, its rows, and the store, on any `Database`: a read's
outcome is an upsert of its row."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Table, Text

from bot.domain import SourceStatus
from bot.store import codec
from bot.store.columns import UtcDateTime, metadata
from bot.store.database import Database
from bot.store.ops import AnyOf, Change, Insert, Query, Update, before, eq, is_null

# When each data source (Shopify, Chatwoot) was last read successfully, and its last error:
# data older than OCC_DATA_STALE_MINUTES is a reliability incident.
data_sources_table = Table(
    "data_sources",
    metadata,
    Column("name", Text, primary_key=True),
    Column("first_tried_at", UtcDateTime, nullable=False),
    Column("last_ok_at", UtcDateTime),
    Column("last_error", Text),
    Column("last_error_at", UtcDateTime),
)
TABLE = data_sources_table.name


def source_status_from_row(row: Mapping[str, Any]) -> SourceStatus:
    return SourceStatus(
        name=row["name"],
        first_tried_at=codec.required_ts(row["first_tried_at"]),
        last_ok_at=codec.parse_ts(row["last_ok_at"]),
        last_error=row["last_error"],
        last_error_at=codec.parse_ts(row["last_error_at"]),
    )


class DataSources:
    """When each data source was last read successfully, and its last error."""

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
        """Every source read so far, by name."""
        rows = await self.db.select(Query(TABLE, (), order_by=("name",)))
        return [source_status_from_row(row) for row in rows]
