"""SQL backend: SQLite (aiosqlite) and PostgreSQL (psycopg 3) through SQLAlchemy 2 Core async.

Each `Change` is one transaction: on PostgreSQL one statement (data-modifying CTEs, in
autocommit), on SQLite one ``BEGIN IMMEDIATE`` transaction. A compare-and-set is a single
conditional ``UPDATE ... WHERE <expected state> RETURNING *``: under READ COMMITTED a
concurrent writer waits for the row lock and then re-checks the WHERE clause, so exactly one
wins; the loser sees no row, and writes nothing (its log row is inserted only after a win).

SQLite: WAL, busy_timeout, and every write transaction opens with ``BEGIN IMMEDIATE``, so
concurrent writers in one process queue on the write lock instead of failing with
"database is locked". Timestamps are stored as fixed-width UTC text, so comparing text is
comparing time.

PostgreSQL: ``migrate()`` holds ``pg_advisory_xact_lock`` while Alembic applies revisions, so
replicas starting together apply each migration once (a database already at the newest
revision is left alone without loading Alembic: `bot.store.revisions`). Prepared statements
are off so Supabase's transaction pooler (port 6543) works too.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import QueuePool

from bot.store import pg_liveness, revisions
from bot.store.async_engine import AsyncConnection, AsyncEngine, create_async_engine
from bot.store.ops import Change, Insert, Query, Row, Update, Where
from bot.store.sql_statements import (
    Statements,
    change_shape,
    counts_shape,
    delete_shape,
    parameters,
    query_shape,
    write_shape,
)
from bot.store.store import Store

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


def _insert(flavour: Flavour) -> Any:
    """The database's own INSERT (it knows ON CONFLICT), from its SQLAlchemy dialect alone:
    PostgreSQL's is about 2 MB that a SQLite process does without (and SQLite's, 0.7 MB
    that a PostgreSQL process does without)."""
    if flavour == "postgres":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


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


def _autocommits(engine: AsyncEngine) -> bool:
    """Whether the engine's connections are set to autocommit when they connect (the level
    `create_async_engine(isolation_level=...)` gave; SQLAlchemy 2.0 keeps it there)."""
    level = getattr(engine.dialect, "_on_connect_isolation_level", "AUTOCOMMIT")
    return level == "AUTOCOMMIT"


class SqlDatabase:
    """`bot.store.database.Database` over SQLAlchemy Core; build it with `from_url`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self.flavour: Flavour = "postgres" if engine.dialect.name == "postgresql" else "sqlite"
        if self.flavour == "postgres" and not _autocommits(engine):
            # A change is one statement run on a read connection: in a transaction nobody
            # commits, its write would be rolled back after it returned its row.
            raise ValueError("PostgreSQL connections must autocommit: build with from_url")
        self._statements = Statements(_insert(self.flavour))
        # SQLite has one writer at a time. Queueing this process's writers here is far cheaper
        # than letting them meet SQLite's busy handler, which sleeps in growing steps.
        self._write_lock = asyncio.Lock() if self.flavour == "sqlite" else contextlib.nullcontext()
        # PostgreSQL runs a single statement atomically on its own: no BEGIN and COMMIT (or
        # ROLLBACK after a read) round trips around it. Its connections autocommit from the
        # start (`from_url`), rather than being switched at each checkout and back at each
        # return (about 40 µs of CPU a statement).
        self._read_options: dict[str, Any] = (
            {} if self.flavour == "postgres" else {_READ_ONLY: True}
        )

    @classmethod
    def from_url(cls, database_url: str) -> SqlDatabase:
        """A database for ``sqlite:///path`` or ``postgresql://…``; connects lazily."""
        url = make_url(async_url(database_url))
        # at least one connection per background worker, so a burst queues on work rather
        # than opening and closing connections (for aiosqlite, each one a thread)
        pool = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW}
        if url.get_backend_name() == "sqlite":
            # an in-memory database lives in one connection: SQLAlchemy picks a StaticPool,
            # which takes no sizes
            sized = issubclass(url.get_dialect().get_pool_class(url), QueuePool)
            engine = create_async_engine(url, hide_parameters=True, **(pool if sized else {}))
            _configure_sqlite(engine)
        else:
            engine = create_async_engine(
                url,
                # an error's text never carries a statement's values: customers' messages,
                # operators' edits (it reaches logs and #occ-reliability)
                hide_parameters=True,
                connect_args={"prepare_threshold": None},
                # each change is one statement; `_write` opens a transaction where one is needed
                isolation_level="AUTOCOMMIT",
                **pool,
            )
            # instead of pool_pre_ping's SELECT 1 before every statement
            pg_liveness.check_on_checkout(engine)
        return cls(engine)

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        """One transaction (on PostgreSQL at the server's default isolation level: the
        migrations run in one, under their advisory lock)."""
        async with self._write_lock, self._engine.connect() as conn:
            if self.flavour == "postgres":
                level = self._engine.dialect.default_isolation_level
                await conn.execution_options(isolation_level=level)
            async with conn.begin():
                yield conn

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        async with self._engine.connect() as conn:
            if self._read_options:
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
            return await conn.run_sync(revisions.upgrade)

    async def ping(self) -> None:
        async with self._read() as conn:
            await conn.execute(text("select 1"))

    async def close(self) -> None:
        await self._engine.dispose()

    # --- Database -------------------------------------------------------------------------

    async def apply(self, change: Change) -> Row | None:
        if self.flavour == "postgres":  # the whole change as one statement: one round trip
            values: list[Any] = []
            stmt = self._statements.change(change_shape(change, values))
            async with self._read() as conn:
                row = (await conn.execute(stmt, parameters(values))).first()
            return None if row is None else row._mapping
        async with self._write() as conn:
            row = (await self._run_write(conn, change.first)).first()
            if row is None:
                return None
            for then in change.then:
                await self._run_write(conn, then)
            return row._mapping

    async def _run_write(self, conn: AsyncConnection, write: Update | Insert) -> Any:
        values: list[Any] = []
        stmt = self._statements.write(write_shape(write, values))
        return await conn.execute(stmt, parameters(values))

    async def select(self, query: Query) -> list[Row]:
        values: list[Any] = []
        stmt = self._statements.query(query_shape(query, values))
        async with self._read() as conn:
            return [row._mapping for row in await conn.execute(stmt, parameters(values))]

    async def counts(self, counted: Mapping[str, tuple[str, Where]]) -> dict[str, int]:
        # One statement, so every number comes from the same snapshot.
        values: list[Any] = []
        stmt = self._statements.counts(counts_shape(counted, values))
        async with self._read() as conn:
            row = (await conn.execute(stmt, parameters(values))).one()
        return {name: int(value) for name, value in row._mapping.items()}

    async def delete(self, table: str, where: Where) -> None:
        values: list[Any] = []
        stmt = self._statements.delete(delete_shape(table, where, values))
        async with self._write() as conn:
            await conn.execute(stmt, parameters(values))


class SqlStore(Store):
    """The store on SQLite or PostgreSQL."""

    db: SqlDatabase

    @classmethod
    def from_url(cls, database_url: str) -> SqlStore:
        return cls(SqlDatabase.from_url(database_url))

    @property
    def flavour(self) -> Flavour:
        return self.db.flavour
