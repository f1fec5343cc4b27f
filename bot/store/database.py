"""The little a backend must do: run `bot.store.ops` against its database.

The entity stores (`bot.store.drafts` and friends) are written once on top of this; a
backend is the SQL engine (`bot.store.sql`) or Supabase's REST API (`bot.store.supabase`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from bot.store.ops import Change, Query, Row, Where


class Database(Protocol):
    async def apply(self, change: Change) -> Row | None:
        """Run a change in one transaction: the row its first write wrote, or None (and
        nothing written) when that write matched nothing or hit a conflict it ignores."""
        ...

    async def select(self, query: Query) -> list[Row]:
        """Every matching row, in order (a backend may page through them)."""
        ...

    async def counts(self, counted: Mapping[str, tuple[str, Where]]) -> dict[str, int]:
        """For each name, how many rows of the table match."""
        ...

    async def delete(self, table: str, where: Where) -> None: ...

    async def migrate(self) -> list[str]: ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...
