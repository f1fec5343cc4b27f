"""SQLAlchemy statements for `bot.store.ops`, built once per shape and reused.

Building a SQLAlchemy statement (and hashing it for the compiled cache) costs more CPU than
running it on a local database. So each write or read is reduced to its *shape*, a tuple
naming its tables, columns and operators, and its *values*, in the order the shape lists
them. A statement is built from the shape alone, the first time, with bound parameters
``p0, p1, …`` in that same order; after that only the values change.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any

from sqlalchemy import (
    Integer,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from bot.store.ops import AnyOf, Change, Insert, Query, Update, Where
from bot.store.schema import metadata, views

Shape = tuple[Any, ...]
_VALUED = frozenset({"eq", "in", "lt", "lte", "gte", "null_or_lt"})


def _table(name: str) -> Table:
    """A table, or one of the read-only views the statistics come from."""
    return metadata.tables[name] if name in metadata.tables else views.tables[name]


def _where_shape(where: Where, values: list[Any]) -> Shape:
    shape: list[Hashable] = []
    for condition in where:
        if isinstance(condition, AnyOf):
            shape.append(("any", tuple(_where_shape(b, values) for b in condition.branches)))
            continue
        shape.append((condition.column, condition.op))
        if condition.op in _VALUED:
            values.append(condition.value)
    return tuple(shape)


def write_shape(write: Update | Insert, values: list[Any]) -> Shape:
    if isinstance(write, Insert):
        values.extend(write.row.values())
        return ("insert", write.table, tuple(write.row), write.ignore_conflict)
    where = _where_shape(write.where, values)
    values.extend(write.values.values())
    return ("update", write.table, where, tuple(write.values), tuple(write.increments.items()))


def change_shape(change: Change, values: list[Any]) -> Shape:
    first = write_shape(change.first, values)
    return (first, tuple(write_shape(then, values) for then in change.then))


def query_shape(query: Query, values: list[Any]) -> Shape:
    where = _where_shape(query.where, values)
    if query.offset:  # a value, not part of the shape: each rank would be a statement cached
        values.append(query.offset)
    return (
        query.table,
        where,
        query.order_by,
        query.descending,
        query.limit,
        query.columns,
        bool(query.offset),
    )


def counts_shape(counted: Mapping[str, tuple[str, Where]], values: list[Any]) -> Shape:
    return tuple(
        (name, table, _where_shape(where, values)) for name, (table, where) in counted.items()
    )


def delete_shape(table: str, where: Where, values: list[Any]) -> Shape:
    return (table, _where_shape(where, values))


def parameters(values: list[Any]) -> dict[str, Any]:
    return {f"p{number}": value for number, value in enumerate(values)}


class _Binds:
    """Hands out p0, p1, … typed as the column they stand for."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, column: Any, *, expanding: bool = False) -> BindParameter[Any]:
        bound = bindparam(f"p{self.count}", type_=column.type, expanding=expanding)
        self.count += 1
        return bound


def _clauses(table: Table, shape: Shape, binds: _Binds) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    for item in shape:
        if item[0] == "any":
            branches = [and_(*_clauses(table, branch, binds)) for branch in item[1]]
            clauses.append(or_(*branches))
            continue
        name, op = item
        column = table.c[name]
        match op:
            case "eq":
                clauses.append(column == binds(column))
            case "in":
                clauses.append(column.in_(binds(column, expanding=True)))
            case "is_null":
                clauses.append(column.is_(None))
            case "not_null":
                clauses.append(column.is_not(None))
            case "lt":
                clauses.append(column < binds(column))
            case "lte":
                clauses.append(column <= binds(column))
            case "gte":
                clauses.append(column >= binds(column))
            case "null_or_lt":
                clauses.append(or_(column.is_(None), column < binds(column)))
            case _:
                raise ValueError(f"unknown operator {op!r}")
    return clauses


class Statements:
    """The statements of one dialect, by shape."""

    def __init__(self, insert_for: Callable[[Table], Any]) -> None:
        self._insert_for = insert_for  # the dialect's insert (it knows ON CONFLICT)
        self._built: dict[Shape, Any] = {}

    def write(self, shape: Shape) -> Any:
        """One write (the first of a change, or a row that follows it)."""
        return self._cached(("write", shape), lambda: self._write(shape, _Binds()))

    def change(self, shape: Shape) -> Any:
        """A whole change as one statement: ``WITH written AS (<first> RETURNING *),
        then_0 AS (INSERT … SELECT … FROM written) … SELECT * FROM written``, so the rows
        that follow are written only for a row the first wrote (PostgreSQL)."""
        return self._cached(("change", shape), lambda: self._change(shape))

    def query(self, shape: Shape) -> Any:
        return self._cached(("query", shape), lambda: self._query(shape))

    def counts(self, shape: Shape) -> Any:
        """How many rows match, for each name, in one statement (one snapshot)."""
        return self._cached(("counts", shape), lambda: self._counts(shape))

    def delete(self, shape: Shape) -> Any:
        return self._cached(("delete", shape), lambda: self._delete(shape))

    def _cached(self, key: Shape, build: Callable[[], Any]) -> Any:
        built = self._built.get(key)
        if built is None:
            built = self._built[key] = build()
        return built

    def _write(self, shape: Shape, binds: _Binds) -> Any:
        table = metadata.tables[shape[1]]
        if shape[0] == "insert":
            _, _, columns, ignore_conflict = shape
            stmt = self._insert_for(table).values({name: binds(table.c[name]) for name in columns})
            if ignore_conflict:
                stmt = stmt.on_conflict_do_nothing()
            return stmt.returning(*table.c)
        _, _, where, columns, increments = shape
        clauses = _clauses(table, where, binds)
        values: dict[str, Any] = {name: binds(table.c[name]) for name in columns}
        for name, step in increments:
            values[name] = table.c[name] + step
        return update(table).where(*clauses).values(values).returning(*table.c)

    def _change(self, shape: Shape) -> Any:
        first, thens = shape
        binds = _Binds()
        written_first = self._write(first, binds)
        if not thens:
            return written_first
        written = written_first.cte("written")
        stmt = select(written)
        for number, (_, table_name, columns, _) in enumerate(thens):
            table = metadata.tables[table_name]
            picked = select(*(binds(table.c[name]) for name in columns)).select_from(written)
            then = insert(table).from_select(list(columns), picked)
            stmt = stmt.add_cte(then.cte(f"then_{number}"))
        return stmt

    def _counts(self, shape: Shape) -> Any:
        binds = _Binds()
        counted = []
        for name, table_name, where in shape:
            table = _table(table_name)
            count = select(func.count()).select_from(table).where(*_clauses(table, where, binds))
            counted.append(count.scalar_subquery().label(name))
        return select(*counted)

    def _delete(self, shape: Shape) -> Any:
        table_name, where = shape
        table = metadata.tables[table_name]
        return delete(table).where(*_clauses(table, where, _Binds()))

    def _query(self, shape: Shape) -> Any:
        table_name, where, order_by, descending, limit, columns, skips = shape
        table = _table(table_name)
        picked = [table.c[name] for name in columns] or [table]
        binds = _Binds()
        stmt = select(*picked).where(*_clauses(table, where, binds))
        for name in order_by:
            stmt = stmt.order_by(table.c[name].desc() if descending else table.c[name])
        if limit is not None:
            stmt = stmt.limit(limit)
        if skips:
            stmt = stmt.offset(bindparam(f"p{binds.count}", type_=Integer()))
        return stmt
