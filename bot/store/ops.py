"""What the store asks of a database, written once and run by every backend.

A state change is a `Change`: one conditional write on one row (an `Update` whose ``where``
names the state it expects, or an `Insert` that does nothing on a conflict), then the rows
that belong with it (its decision_log row, an escalation), written only if the first one
won, all in one transaction. A read is a `Query`. Each backend compiles these: the SQL
backend into SQLAlchemy Core statements (`bot.store.sql_statements`: one statement on
PostgreSQL, one transaction on SQLite), the Supabase backend into one ``rpc('occ_apply')``
call (a Postgres function, so still one transaction) or PostgREST filters. Values are table
rows as the entity modules build them (`bot.store.drafts.draft_row` …).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Row = Mapping[str, Any]
Operator = Literal["eq", "in", "is_null", "not_null", "lt", "lte", "gte", "null_or_lt"]


@dataclass(frozen=True)
class Cond:
    """``column <op> value``; ``null_or_lt`` is "null, or earlier than value" (a free lease)."""

    column: str
    op: Operator
    value: Any = None


def eq(column: str, value: Any) -> Cond:
    return Cond(column, "eq", value)


def one_of(column: str, values: tuple[Any, ...] | list[Any]) -> Cond:
    return Cond(column, "in", list(values))


def is_null(column: str) -> Cond:
    return Cond(column, "is_null")


def not_null(column: str) -> Cond:
    return Cond(column, "not_null")


def before(column: str, when: datetime) -> Cond:
    return Cond(column, "lt", when)


def at_or_before(column: str, when: datetime) -> Cond:
    return Cond(column, "lte", when)


def fewer_than(column: str, count: int) -> Cond:
    return Cond(column, "lt", count)


def free_lease(column: str, now: datetime) -> Cond:
    return Cond(column, "null_or_lt", now)


@dataclass(frozen=True)
class AnyOf:
    """Rows matching any one of the branches; each branch is all of its conditions."""

    branches: tuple[tuple[Condition, ...], ...]


Condition = Cond | AnyOf
Where = tuple[Condition, ...]


@dataclass(frozen=True)
class Update:
    """Set ``values`` (and add ``increments``) on the rows of ``table`` matching ``where``."""

    table: str
    where: Where
    values: Row
    increments: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Insert:
    """Insert ``row``; with ``ignore_conflict``, a row that breaks a unique key writes nothing."""

    table: str
    row: Row
    ignore_conflict: bool = False


@dataclass(frozen=True)
class Change:
    """``first``, then ``then`` only if ``first`` wrote a row; one transaction."""

    first: Update | Insert
    then: tuple[Insert, ...] = ()


@dataclass(frozen=True)
class Query:
    table: str
    where: Where = ()
    order_by: tuple[str, ...] = ()
    descending: bool = False
    limit: int | None = None
    columns: tuple[str, ...] = ()  # empty: every column
    offset: int = 0  # rows skipped first (in order_by's order)
