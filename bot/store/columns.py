"""What every table shares: the metadata they join, and the column types and checks they use.

Each entity module defines its own tables on `metadata`; `bot.store.schema` imports them all,
so that its `metadata` is the whole schema. The read-only views of migrations 0013,
0020 and 0022 are on `views`, apart: described for querying, never created from here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Dialect,
    Index,
    MetaData,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.types import TypeEngine

from bot.store import codec

SQLITE_TIMESTAMP = "%Y-%m-%dT%H:%M:%S.%fZ"

metadata = MetaData(
    naming_convention={
        "ix": "%(table_name)s_%(column_0_N_name)s_idx",
        "uq": "%(table_name)s_%(column_0_name)s_key",
        "ck": "%(table_name)s_%(constraint_name)s",
        "fk": "%(table_name)s_%(column_0_name)s_fkey",
        "pk": "%(table_name)s_pkey",
    }
)
views = MetaData()


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes: ``timestamptz`` on PostgreSQL; on SQLite, fixed-width UTC text
    (2024-05-01T12:00:00.000000Z), so comparing text is comparing time."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Text())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = codec.utc(value)
        return value.strftime(SQLITE_TIMESTAMP) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return codec.parse_ts(value)


class _Json(TypeDecorator[Any]):
    """JSON: ``jsonb`` on PostgreSQL, SQLite's JSON text elsewhere. (Not
    ``JSON().with_variant(JSONB(), ...)``: that imports all of SQLAlchemy's PostgreSQL dialect,
    about 2 MB, into every SQLite process.)"""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())


Json = _Json()


def check_in(column: str, values: tuple[str, ...]) -> CheckConstraint:
    """The column holds one of ``values`` (``<table>_<column>_check``)."""
    listed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} in ({listed})", name=f"{column}_check")


SCOPES = ("cx", "sales", "reliability", "training")


PARTIAL = "where"  # the `info` key of a partial index's condition


def partial_index(name: str, *columns: str, where: str, unique: bool = False) -> Index:
    """An index of the rows matching ``where`` (on PostgreSQL and SQLite alike).

    The condition is kept in the index's `info`, and `bot.store.migrations.tables` renders it
    as the option of the database at hand (``postgresql_where`` or ``sqlite_where``). Naming
    ``postgresql_where`` here would make SQLAlchemy import its whole PostgreSQL dialect to
    check the option, about 2 MB of every SQLite process."""
    return Index(name, *columns, unique=unique, info={PARTIAL: where})


def where_option(index: Index, dialect: str) -> dict[str, Any]:
    """``{"<dialect>_where": condition}`` for a partial index, ``{}`` for any other."""
    where = index.info.get(PARTIAL)
    return {f"{dialect}_where": text(where)} if where else {}
