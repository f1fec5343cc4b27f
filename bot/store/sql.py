"""SQL backend: SQLite (aiosqlite) and PostgreSQL (psycopg 3) through SQLAlchemy 2 Core async.

Each `Change` is one transaction. A compare-and-set is a single conditional
``UPDATE ... WHERE <expected state> RETURNING *``: under PostgreSQL's READ COMMITTED a
concurrent writer waits for the row lock and then re-checks the WHERE clause, so exactly one
wins; the loser sees no row, and writes nothing (its log row is inserted only after a win).

SQLite: WAL, busy_timeout, and every write transaction opens with ``BEGIN IMMEDIATE``, so
concurrent writers in one process queue on the write lock instead of failing with
"database is locked". Timestamps are stored as fixed-width UTC text, so comparing text is
comparing time.

PostgreSQL: ``migrate()`` holds ``pg_advisory_xact_lock`` while Alembic applies revisions, so
replicas starting together apply each migration once. Prepared statements are off so
Supabase's transaction pooler (port 6543) works too.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    delete,
    event,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bot.store import migrate as schema_migrations
from bot.store.ops import AnyOf, Change, Cond, Condition, Insert, Query, Row, Update, Where
from bot.store.schema import metadata
from bot.store.store import OccStore

Flavour = Literal["postgres", "sqlite"]

POOL_SIZE = 20
POOL_OVERFLOW = 10
_MIGRATE_LOCK_KEY = 0x6F63632D6D6967  # "occ-mig": one advisory lock for all occ-bot migrators
_READ_ONLY = "occ_read_only"


def async_url(database_url: str) -> str:
    """The SQLAlchemy async URL for a user's ``DATABASE_URL``.

    ``postgres://`` and ``postgresql://`` (Supabase connection strings included) become
    ``postgresql+psycopg://``; ``sqlite:///path`` becomes ``sqlite+aiosqlite:///path``.
    """
    scheme, sep, rest = database_url.strip().partition("://")
    base = scheme.split("+", 1)[0].lower()
    if sep and base in ("postgres", "postgresql"):
        return f"postgresql+psycopg://{rest}"
    if sep and base == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    raise ValueError(
        f"unsupported DATABASE_URL scheme {scheme!r}: use sqlite:///path or postgresql://…"
    )


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy, not the driver, emits BEGIN (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            # First, so that switching to WAL (which needs the database to itself) waits for
            # another process's connection instead of failing with "database is locked".
            "PRAGMA busy_timeout=30000",
            "PRAGMA journal_mode=WAL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA synchronous=NORMAL",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock up front: a deferred transaction that reads and
        # then writes can deadlock with another writer and fail at once with SQLITE_BUSY.
        read_only = conn.get_execution_options().get(_READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


@asynccontextmanager
async def _migration_lock(sqlite_path: str | None) -> AsyncIterator[None]:
    """Replicas sharing one SQLite file migrate one after the other. Left to SQLite, a
    replica switching a new file to WAL while another is mid-migration can deadlock the two
    until the busy timeout. (PostgreSQL takes an advisory lock inside the transaction.)"""
    if not sqlite_path or sqlite_path == ":memory:":
        yield
        return
    with open(f"{sqlite_path}.migrate-lock", "a") as lock_file:
        await asyncio.to_thread(fcntl.flock, lock_file.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)


class SqlDatabase:
    """`bot.store.database.Database` over SQLAlchemy Core; build it with `from_url`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self.flavour: Flavour = "postgres" if engine.dialect.name == "postgresql" else "sqlite"
        self._insert = pg_insert if self.flavour == "postgres" else sqlite_insert
        # SQLite has one writer at a time. Queueing this process's writers here is far cheaper
        # than letting them meet SQLite's busy handler, which sleeps in growing steps.
        self._write_lock = asyncio.Lock() if self.flavour == "sqlite" else contextlib.nullcontext()
        # PostgreSQL runs a single statement atomically on its own: no BEGIN and COMMIT (or
        # ROLLBACK after a read) round trips around it.
        self._read_options: dict[str, Any] = (
            {"isolation_level": "AUTOCOMMIT"} if self.flavour == "postgres" else {_READ_ONLY: True}
        )

    @classmethod
    def from_url(cls, database_url: str) -> SqlDatabase:
        """A database for ``sqlite:///path`` or ``postgresql://…``; connects lazily."""
        url = make_url(async_url(database_url))
        if url.get_backend_name() == "sqlite":
            engine = create_async_engine(url)
            _configure_sqlite(engine)
        else:
            engine = create_async_engine(
                url,
                pool_pre_ping=True,
                # at least one connection per background worker, so a burst queues on
                # work rather than opening and closing connections
                pool_size=POOL_SIZE,
                max_overflow=POOL_OVERFLOW,
                connect_args={"prepare_threshold": None},
            )
        return cls(engine)

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        async with self._write_lock, self._engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        async with self._engine.connect() as conn:
            await conn.execution_options(**self._read_options)
            yield conn

    # --- lifecycle ------------------------------------------------------------------------

    async def migrate(self) -> list[str]:
        database = self._engine.url.database
        if self.flavour == "sqlite" and database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        sqlite_path = database if self.flavour == "sqlite" else None
        async with _migration_lock(sqlite_path), self._write() as conn:
            if self.flavour == "postgres":
                await conn.execute(
                    text("select pg_advisory_xact_lock(:key)"), {"key": _MIGRATE_LOCK_KEY}
                )
            return await conn.run_sync(schema_migrations.upgrade)

    async def ping(self) -> None:
        async with self._read() as conn:
            await conn.execute(text("select 1"))

    async def close(self) -> None:
        await self._engine.dispose()

    # --- Database -------------------------------------------------------------------------

    async def apply(self, change: Change) -> Row | None:
        if self.flavour == "postgres":  # the whole change as one statement: one round trip
            async with self._read() as conn:
                row = (await conn.execute(self._one_statement(change))).first()
            return None if row is None else row._mapping
        async with self._write() as conn:
            result = await conn.execute(self._first_write(change.first))
            row = result.first()
            if row is None:
                return None
            for then in change.then:
                await conn.execute(insert(_table(then.table)).values(**then.row))
            return row._mapping

    def _one_statement(self, change: Change) -> Any:
        """``WITH written AS (<first> RETURNING *), then_0 AS (INSERT … SELECT … FROM
        written) … SELECT * FROM written``: the later rows are written only for a row the
        first write wrote, in the same statement (PostgreSQL's data-modifying CTEs)."""
        first = self._first_write(change.first)
        if not change.then:
            return first
        written = first.cte("written")
        stmt = select(written)
        for number, then in enumerate(change.then):
            table = _table(then.table)
            columns = list(then.row)
            values = select(
                *(literal(then.row[name], type_=table.c[name].type) for name in columns)
            ).select_from(written)
            stmt = stmt.add_cte(insert(table).from_select(columns, values).cte(f"then_{number}"))
        return stmt

    def _first_write(self, write: Update | Insert) -> Any:
        table = _table(write.table)
        if isinstance(write, Insert):
            stmt = self._insert(table).values(**write.row)
            if write.ignore_conflict:
                stmt = stmt.on_conflict_do_nothing()
            return stmt.returning(*table.c)
        values = dict(write.values)
        for column, step in write.increments.items():
            values[column] = table.c[column] + step
        return (
            update(table).where(*_clauses(table, write.where)).values(**values).returning(*table.c)
        )

    async def select(self, query: Query) -> list[Row]:
        table = _table(query.table)
        columns = [table.c[name] for name in query.columns] or [table]
        stmt = select(*columns).where(*_clauses(table, query.where))
        for name in query.order_by:
            stmt = stmt.order_by(table.c[name].desc() if query.descending else table.c[name])
        if query.limit is not None:
            stmt = stmt.limit(query.limit)
        async with self._read() as conn:
            return [row._mapping for row in await conn.execute(stmt)]

    async def counts(self, counted: Mapping[str, tuple[str, Where]]) -> dict[str, int]:
        # One statement, so every number comes from the same snapshot.
        stmt = select(
            *(
                select(func.count())
                .select_from(_table(table))
                .where(*_clauses(_table(table), where))
                .scalar_subquery()
                .label(name)
                for name, (table, where) in counted.items()
            )
        )
        async with self._read() as conn:
            row = (await conn.execute(stmt)).one()
        return {name: int(value) for name, value in row._mapping.items()}

    async def delete(self, table: str, where: Where) -> None:
        found = _table(table)
        async with self._write() as conn:
            await conn.execute(delete(found).where(*_clauses(found, where)))


class SqlStore(OccStore):
    """The store on SQLite or PostgreSQL."""

    db: SqlDatabase

    @classmethod
    def from_url(cls, database_url: str) -> SqlStore:
        return cls(SqlDatabase.from_url(database_url))

    @property
    def flavour(self) -> Flavour:
        return self.db.flavour


def _table(name: str) -> Table:
    return metadata.tables[name]


def _clauses(table: Table, where: Where) -> list[ColumnElement[bool]]:
    return [_clause(table, condition) for condition in where]


def _clause(table: Table, condition: Condition) -> ColumnElement[bool]:
    if isinstance(condition, AnyOf):
        return or_(*(and_(*_clauses(table, branch)) for branch in condition.branches))
    return _compare(table.c[condition.column], condition)


def _compare(column: Any, cond: Cond) -> ColumnElement[bool]:
    match cond.op:
        case "eq":
            return column == cond.value
        case "in":
            return column.in_(cond.value)
        case "is_null":
            return column.is_(None)
        case "not_null":
            return column.is_not(None)
        case "lt":
            return column < cond.value
        case "lte":
            return column <= cond.value
        case "gte":
            return column >= cond.value
        case "null_or_lt":
            return or_(column.is_(None), column < cond.value)
    raise ValueError(f"unknown operator {cond.op!r}")
