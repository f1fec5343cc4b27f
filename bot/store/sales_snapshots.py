"""The Sales Pulse tile's snapshot: the table, its row, and the store, on any `Database`.

One row per source (``shopify``), replaced by each Sales Pulse run's newer reading, so it
stays one small row whatever the shop's size: aggregates, the oldest unfulfilled orders and a
count, the top sellers (`bot.domain.PulseSnapshot`), as JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from sqlalchemy import Column, Table, Text

from bot.domain import PulseOrder, PulseSku, PulseSnapshot
from bot.store import codec
from bot.store.columns import Json, UtcDateTime, metadata
from bot.store.database import Database
from bot.store.ops import Change, Insert, Query, Update, before, eq

SHOPIFY = "shopify"

sales_snapshots_table = Table(
    "sales_snapshots",
    metadata,
    Column("source", Text, primary_key=True),
    Column("taken_at", UtcDateTime, nullable=False),
    Column("snapshot", Json, nullable=False),
)
TABLE = sales_snapshots_table.name


def snapshot_row(snapshot: PulseSnapshot, source: str = SHOPIFY) -> dict[str, Any]:
    return {
        "source": source,
        "taken_at": codec.utc(snapshot.taken_at),
        "snapshot": codec.jsonable(asdict(snapshot)),
    }


def snapshot_from_row(row: Mapping[str, Any]) -> PulseSnapshot:
    doc = dict(codec.json_column(row["snapshot"]))
    return PulseSnapshot(
        **{
            **doc,
            "taken_at": codec.required_ts(doc["taken_at"]),
            "today_by_hour": tuple(float(v) for v in doc["today_by_hour"]),
            "usual_by_hour": tuple(float(v) for v in doc["usual_by_hour"]),
            "unfulfilled": tuple(
                PulseOrder(**{**o, "created_at": codec.required_ts(o["created_at"])})
                for o in doc["unfulfilled"]
            ),
            "top_skus": tuple(PulseSku(**sku) for sku in doc["top_skus"]),
        }
    )


class SalesSnapshots:
    """The latest Sales Pulse reading, for `/occ pulse` and the Home tab."""

    db: Database

    async def save_sales_snapshot(self, snapshot: PulseSnapshot) -> None:
        """Keep ``snapshot`` unless a newer one is kept already (a slow run finishing late
        changes nothing)."""
        row = snapshot_row(snapshot)
        if await self.db.apply(Change(Insert(TABLE, row, ignore_conflict=True))) is None:
            newer = before("taken_at", row["taken_at"])
            values = {"taken_at": row["taken_at"], "snapshot": row["snapshot"]}
            await self.db.apply(Change(Update(TABLE, (eq("source", SHOPIFY), newer), values)))

    async def sales_snapshot(self) -> PulseSnapshot | None:
        """The latest reading, or None before the first."""
        rows = await self.db.select(Query(TABLE, (eq("source", SHOPIFY),), limit=1))
        return snapshot_from_row(rows[0]) if rows else None
