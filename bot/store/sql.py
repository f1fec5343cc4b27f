"""SQL store: SQLite (aiosqlite) and PostgreSQL (psycopg 3) through SQLAlchemy 2 Core async.

Each write is one transaction. A compare-and-set is a single conditional
``UPDATE ... WHERE <expected state> RETURNING *``: under PostgreSQL's READ COMMITTED a
concurrent writer waits for the row lock and then re-checks the WHERE clause, so exactly one
wins; the loser sees no row, and writes nothing (its log row is inserted only after a win).

SQLite: WAL, busy_timeout, and every write transaction opens with ``BEGIN IMMEDIATE``, so
concurrent writers in one process queue on the write lock instead of failing with
"database is locked". Timestamps are stored as fixed-width UTC text, so comparing text is
comparing time.

PostgreSQL: ``migrate()`` holds ``pg_advisory_xact_lock`` while it applies files, so
replicas starting together apply each migration once. Prepared statements are off so
Supabase's transaction pooler (port 6543) works too.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ColumnElement,
    DateTime,
    Dialect,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    Text,
    TypeDecorator,
    and_,
    event,
    func,
    insert,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.types import TypeEngine

from bot.domain import (
    Decision,
    Draft,
    DraftState,
    Escalation,
    EscalationState,
    LogEntry,
    Reply,
    ReplyStatus,
    SlackRef,
)
from bot.store import codec
from bot.store.base import (
    ESCALATIONS_OPEN,
    REPLIES_FAILING,
    REPLIES_IN_FLIGHT,
    Flavour,
    NotFound,
    QueueSummary,
    StoreError,
    migrations,
)

_SQLITE_TS = "%Y-%m-%dT%H:%M:%S.%fZ"
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


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes: ``timestamptz`` on PostgreSQL, fixed-width UTC text on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = codec.utc(value)
        return value.strftime(_SQLITE_TS) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return codec.parse_ts(value)


_Json = JSON().with_variant(JSONB(), "postgresql")
_metadata = MetaData()

drafts = Table(
    "drafts",
    _metadata,
    Column("id", Text, primary_key=True),
    Column("external_id", Text),
    Column("conversation_id", BigInteger, nullable=False),
    Column("input", _Json, nullable=False),
    Column("flags", _Json, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("state", Text, nullable=False),
    Column("card_channel", Text),
    Column("card_ts", Text),
    Column("posted_at", UtcDateTime),
    Column("decision_kind", Text),
    Column("decided_by", Text),
    Column("decided_at", UtcDateTime),
    Column("final_text", Text),
    Column("reject_reason", Text),
    Column("decision_notes", Text),
    Column("escalation_id", Text),
    Column("reply_status", Text, nullable=False),
    Column("reply_attempts", Integer, nullable=False),
    Column("reply_next_attempt_at", UtcDateTime),
    Column("reply_last_error", Text),
    Column("reply_message_id", Text),
    Column("reply_sent_at", UtcDateTime),
    Column("reply_lease_until", UtcDateTime),
    Column("card_lease_until", UtcDateTime),
)

escalations = Table(
    "escalations",
    _metadata,
    Column("id", Text, primary_key=True),
    Column("draft_id", Text, nullable=False),
    Column("conversation_id", BigInteger),
    Column("type", Text, nullable=False),
    Column("urgency", Text, nullable=False),
    Column("notes", Text, nullable=False),
    Column("escalated_by", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("state", Text, nullable=False),
    Column("message_channel", Text),
    Column("message_ts", Text),
    Column("claimed_by", Text),
    Column("claimed_at", UtcDateTime),
    Column("resolved_by", Text),
    Column("resolved_at", UtcDateTime),
    Column("reminders_sent", Integer, nullable=False),
    Column("next_reminder_at", UtcDateTime),
    Column("message_lease_until", UtcDateTime),
)

decision_log = Table(
    "decision_log",
    _metadata,
    Column("id", Text, primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("scope", Text, nullable=False),
    Column("subject_id", Text, nullable=False),
    Column("conversation_id", BigInteger),
    Column("payload", _Json, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("seq", BigInteger),
)

_RETRYABLE = (ReplyStatus.QUEUED.value, ReplyStatus.FAILED.value, ReplyStatus.SENDING.value)


def _reply_due(now: datetime) -> ColumnElement[bool]:
    c = drafts.c
    return and_(
        c.reply_status.in_(_RETRYABLE),  # lets PostgreSQL use the partial index
        or_(
            c.reply_status == ReplyStatus.QUEUED.value,
            and_(c.reply_status == ReplyStatus.FAILED.value, c.reply_next_attempt_at <= now),
            and_(c.reply_status == ReplyStatus.SENDING.value, c.reply_lease_until < now),
        ),
    )


def _card_unposted(now: datetime) -> ColumnElement[bool]:
    c = drafts.c
    return and_(
        c.card_channel.is_(None), or_(c.card_lease_until.is_(None), c.card_lease_until < now)
    )


def _message_unposted(now: datetime) -> ColumnElement[bool]:
    c = escalations.c
    return and_(
        c.message_channel.is_(None),
        or_(c.message_lease_until.is_(None), c.message_lease_until < now),
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


class SqlStore:
    """`Store` over SQLAlchemy Core; build it with `SqlStore.from_url`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._flavour: Flavour = "postgres" if engine.dialect.name == "postgresql" else "sqlite"
        self._insert = pg_insert if self._flavour == "postgres" else sqlite_insert
        # SQLite has one writer at a time. Queueing this process's writers here is far cheaper
        # than letting them meet SQLite's busy handler, which sleeps in growing steps.
        self._write_lock = asyncio.Lock() if self._flavour == "sqlite" else contextlib.nullcontext()

    @classmethod
    def from_url(cls, database_url: str) -> SqlStore:
        """A store for ``sqlite:///path`` or ``postgresql://…``; connects lazily."""
        url = make_url(async_url(database_url))
        if url.get_backend_name() == "sqlite":
            engine = create_async_engine(url)
            _configure_sqlite(engine)
        else:
            engine = create_async_engine(
                url, pool_pre_ping=True, connect_args={"prepare_threshold": None}
            )
        return cls(engine)

    @property
    def flavour(self) -> Flavour:
        return self._flavour

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        async with self._write_lock, self._engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        async with self._engine.connect() as conn:
            await conn.execution_options(**{_READ_ONLY: True})
            yield conn

    # --- lifecycle ------------------------------------------------------------------------

    async def migrate(self) -> list[str]:
        database = self._engine.url.database
        if self._flavour == "sqlite" and database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        async with _migration_lock(database if self._flavour == "sqlite" else None):
            return await self._migrate()

    async def _migrate(self) -> list[str]:
        applied_now: list[str] = []
        async with self._write() as conn:
            if self._flavour == "postgres":
                await conn.execute(
                    text("select pg_advisory_xact_lock(:key)"), {"key": _MIGRATE_LOCK_KEY}
                )
            applied = await self._applied(conn)
            for migration in migrations(self._flavour):
                if migration.name in applied:
                    continue
                for statement in migration.statements():
                    await conn.exec_driver_sql(statement)
                await conn.execute(
                    text(
                        "insert into schema_migrations (name) values (:name) "
                        "on conflict (name) do nothing"
                    ),
                    {"name": migration.name},
                )
                applied_now.append(migration.name)
        return applied_now

    async def _applied(self, conn: AsyncConnection) -> set[str]:
        if self._flavour == "postgres":
            exists = await conn.scalar(text("select to_regclass('schema_migrations') is not null"))
        else:
            exists = await conn.scalar(
                text(
                    "select count(*) from sqlite_master "
                    "where type = 'table' and name = 'schema_migrations'"
                )
            )
        if not exists:
            return set()
        result = await conn.execute(text("select name from schema_migrations"))
        return {name for (name,) in result}

    async def ping(self) -> None:
        async with self._read() as conn:
            await conn.execute(text("select 1"))

    async def close(self) -> None:
        await self._engine.dispose()

    # --- drafts ---------------------------------------------------------------------------

    async def add_draft(self, draft: Draft, log: LogEntry) -> tuple[Draft, bool]:
        stmt = (
            self._insert(drafts)
            .values(**codec.draft_row(draft))
            .on_conflict_do_nothing()
            .returning(*drafts.c)
        )
        async with self._write() as conn:
            row = (await conn.execute(stmt)).first()
            if row is not None:
                await self._log(conn, log)
                return codec.draft_from_row(row._mapping), True
            existing = await self._existing_draft(conn, draft)
        return existing, False

    async def _existing_draft(self, conn: AsyncConnection, draft: Draft) -> Draft:
        external_id = draft.input.external_id
        if external_id is not None:
            found = await self._one(conn, drafts, drafts.c.external_id == external_id)
            if found is not None:
                return codec.draft_from_row(found)
        found = await self._one(conn, drafts, drafts.c.id == draft.id)
        if found is None or found["external_id"] != external_id:
            raise StoreError(f"draft id {draft.id!r} is already used by another draft")
        return codec.draft_from_row(found)

    async def get_draft(self, draft_id: str) -> Draft | None:
        async with self._read() as conn:
            row = await self._one(conn, drafts, drafts.c.id == draft_id)
        return None if row is None else codec.draft_from_row(row)

    async def set_card(
        self, draft_id: str, card: SlackRef, posted_at: datetime, log: LogEntry
    ) -> Draft:
        row = await self._update_and_log(
            drafts, drafts.c.id == draft_id, codec.card_row(card, posted_at), log
        )
        if row is None:
            raise NotFound(f"draft {draft_id!r}")
        return codec.draft_from_row(row)

    async def claim_card_post(
        self, draft_id: str, *, now: datetime, lease_until: datetime
    ) -> Draft | None:
        where = and_(drafts.c.id == draft_id, _card_unposted(now))
        values = {"card_lease_until": codec.utc(lease_until)}
        row = await self._claim(drafts, where, values)
        return None if row is None else codec.draft_from_row(row)

    async def unposted_drafts(self, now: datetime, limit: int = 100) -> list[str]:
        c = drafts.c
        stmt = (
            select(c.id)
            .where(c.state == DraftState.PENDING.value, _card_unposted(now))
            .order_by(c.received_at, c.id)
            .limit(limit)
        )
        return await self._ids(stmt)

    async def decide(
        self,
        draft_id: str,
        decision: Decision,
        *,
        reply_status: ReplyStatus,
        log: LogEntry,
        escalation: Escalation | None = None,
        reply_lease_until: datetime | None = None,
    ) -> Draft | None:
        values = codec.decision_row(
            decision, reply_status, escalation.id if escalation else None, reply_lease_until
        )
        where = and_(drafts.c.id == draft_id, drafts.c.state == DraftState.PENDING.value)
        async with self._write() as conn:
            row = await self._cas(conn, drafts, where, values)
            if row is None:
                return None
            if escalation is not None:
                await conn.execute(insert(escalations).values(**codec.escalation_row(escalation)))
            await self._log(conn, log)
        return codec.draft_from_row(row)

    async def claim_reply(
        self, draft_id: str, *, now: datetime, lease_until: datetime, force: bool = False
    ) -> Draft | None:
        c = drafts.c
        claimable = _reply_due(now)
        if force:
            claimable = or_(
                claimable, c.reply_status.in_([ReplyStatus.FAILED.value, ReplyStatus.GAVE_UP.value])
            )
        values = {
            "reply_status": ReplyStatus.SENDING.value,
            "reply_attempts": c.reply_attempts + 1,
            "reply_lease_until": codec.utc(lease_until),
        }
        row = await self._claim(drafts, and_(c.id == draft_id, claimable), values)
        return None if row is None else codec.draft_from_row(row)

    async def finish_reply(self, draft_id: str, reply: Reply, log: LogEntry) -> Draft | None:
        c = drafts.c
        held = and_(
            c.id == draft_id,
            c.reply_status == ReplyStatus.SENDING.value,
            c.reply_attempts == reply.attempts,
        )
        row = await self._update_and_log(drafts, held, codec.reply_row(reply), log)
        if row is None:
            if await self.get_draft(draft_id) is None:
                raise NotFound(f"draft {draft_id!r}")
            return None
        return codec.draft_from_row(row)

    async def due_replies(self, now: datetime, limit: int = 100) -> list[str]:
        stmt = (
            select(drafts.c.id)
            .where(_reply_due(now))
            .order_by(drafts.c.received_at, drafts.c.id)
            .limit(limit)
        )
        return await self._ids(stmt)

    # --- escalations ----------------------------------------------------------------------

    async def get_escalation(self, escalation_id: str) -> Escalation | None:
        async with self._read() as conn:
            row = await self._one(conn, escalations, escalations.c.id == escalation_id)
        return None if row is None else codec.escalation_from_row(row)

    async def escalation_for_draft(self, draft_id: str) -> Escalation | None:
        async with self._read() as conn:
            row = await self._one(conn, escalations, escalations.c.draft_id == draft_id)
        return None if row is None else codec.escalation_from_row(row)

    async def set_escalation_message(
        self, escalation_id: str, message: SlackRef, log: LogEntry
    ) -> Escalation:
        row = await self._update_and_log(
            escalations, escalations.c.id == escalation_id, codec.message_row(message), log
        )
        if row is None:
            raise NotFound(f"escalation {escalation_id!r}")
        return codec.escalation_from_row(row)

    async def claim_escalation_post(
        self, escalation_id: str, *, now: datetime, lease_until: datetime
    ) -> Escalation | None:
        where = and_(escalations.c.id == escalation_id, _message_unposted(now))
        values = {"message_lease_until": codec.utc(lease_until)}
        row = await self._claim(escalations, where, values)
        return None if row is None else codec.escalation_from_row(row)

    async def unposted_escalations(self, now: datetime, limit: int = 100) -> list[str]:
        c = escalations.c
        stmt = (
            select(c.id)
            .where(
                c.state.in_([EscalationState.OPEN.value, EscalationState.CLAIMED.value]),
                _message_unposted(now),
            )
            .order_by(c.created_at, c.id)
            .limit(limit)
        )
        return await self._ids(stmt)

    async def claim_escalation(
        self,
        escalation_id: str,
        *,
        actor: str,
        now: datetime,
        next_reminder_at: datetime | None,
        log: LogEntry,
    ) -> Escalation | None:
        c = escalations.c
        values = {
            "state": EscalationState.CLAIMED.value,
            "claimed_by": actor,
            "claimed_at": codec.utc(now),
            "next_reminder_at": None if next_reminder_at is None else codec.utc(next_reminder_at),
        }
        where = and_(c.id == escalation_id, c.state == EscalationState.OPEN.value)
        row = await self._update_and_log(escalations, where, values, log)
        return None if row is None else codec.escalation_from_row(row)

    async def resolve_escalation(
        self, escalation_id: str, *, actor: str, now: datetime, log: LogEntry
    ) -> Escalation | None:
        c = escalations.c
        values = {
            "state": EscalationState.RESOLVED.value,
            "resolved_by": actor,
            "resolved_at": codec.utc(now),
        }
        where = and_(
            c.id == escalation_id,
            c.state.in_([EscalationState.OPEN.value, EscalationState.CLAIMED.value]),
        )
        row = await self._update_and_log(escalations, where, values, log)
        return None if row is None else codec.escalation_from_row(row)

    async def due_reminders(self, now: datetime, limit: int = 100) -> list[str]:
        c = escalations.c
        stmt = (
            select(c.id)
            .where(
                c.state == EscalationState.OPEN.value,
                c.due_at <= now,
                or_(c.next_reminder_at.is_(None), c.next_reminder_at <= now),
            )
            .order_by(c.due_at, c.id)
            .limit(limit)
        )
        return await self._ids(stmt)

    async def mark_reminded(
        self,
        escalation_id: str,
        *,
        expected_count: int,
        next_reminder_at: datetime,
        log: LogEntry,
    ) -> Escalation | None:
        c = escalations.c
        values = {
            "reminders_sent": expected_count + 1,
            "next_reminder_at": codec.utc(next_reminder_at),
        }
        where = and_(
            c.id == escalation_id,
            c.state == EscalationState.OPEN.value,
            c.reminders_sent == expected_count,
        )
        row = await self._update_and_log(escalations, where, values, log)
        return None if row is None else codec.escalation_from_row(row)

    # --- queue summary --------------------------------------------------------------------

    async def queue_summary(self, now: datetime) -> QueueSummary:
        # One statement, so every number comes from the same snapshot: each table is scanned
        # once, its counts taken with FILTER (SQLite 3.30+, PostgreSQL 9.4+).
        d, e = drafts.c, escalations.c
        pending = d.state == DraftState.PENDING.value
        draft_counts = select(
            func.count().filter(pending).label("pending"),
            func.min(d.received_at).filter(pending).label("oldest_pending_at"),
            func.count().filter(d.reply_status.in_(REPLIES_IN_FLIGHT)).label("replies_in_flight"),
            func.count().filter(d.reply_status.in_(REPLIES_FAILING)).label("replies_failing"),
        ).subquery()
        escalation_counts = select(
            func.count().filter(e.state.in_(ESCALATIONS_OPEN)).label("open_escalations"),
            func.count()
            .filter(e.state == EscalationState.OPEN.value, e.due_at < now)
            .label("overdue_escalations"),
        ).subquery()
        stmt = select(draft_counts, escalation_counts).select_from(
            draft_counts.join(escalation_counts, true())
        )
        async with self._read() as conn:
            row = (await conn.execute(stmt)).one()
        return QueueSummary(**row._mapping)

    # --- decision log ---------------------------------------------------------------------

    async def log(self, entry: LogEntry) -> None:
        async with self._write() as conn:
            await self._log(conn, entry)

    async def entries(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        subject_id: str | None = None,
    ) -> list[LogEntry]:
        c = decision_log.c
        stmt = select(decision_log).order_by(c.created_at, c.seq)
        if since is not None:
            stmt = stmt.where(c.created_at >= since)
        if until is not None:
            stmt = stmt.where(c.created_at < until)
        if subject_id is not None:
            stmt = stmt.where(c.subject_id == subject_id)
        async with self._read() as conn:
            result = await conn.execute(stmt)
            return [codec.log_from_row(row._mapping) for row in result]

    # --- helpers --------------------------------------------------------------------------

    @staticmethod
    async def _log(conn: AsyncConnection, entry: LogEntry) -> None:
        await conn.execute(insert(decision_log).values(**codec.log_row(entry)))

    @staticmethod
    async def _one(
        conn: AsyncConnection, table: Table, where: ColumnElement[bool]
    ) -> Mapping[str, Any] | None:
        row = (await conn.execute(select(table).where(where))).first()
        return None if row is None else row._mapping

    @staticmethod
    async def _cas(
        conn: AsyncConnection, table: Table, where: ColumnElement[bool], values: Mapping[str, Any]
    ) -> Mapping[str, Any] | None:
        stmt = update(table).where(where).values(**values).returning(*table.c)
        row = (await conn.execute(stmt)).first()
        return None if row is None else row._mapping

    async def _claim(
        self, table: Table, where: ColumnElement[bool], values: Mapping[str, Any]
    ) -> Mapping[str, Any] | None:
        """One conditional UPDATE in its own transaction; the row, or None if none matched."""
        async with self._write() as conn:
            return await self._cas(conn, table, where, values)

    async def _ids(self, stmt: Select[tuple[str]]) -> list[str]:
        async with self._read() as conn:
            return list((await conn.scalars(stmt)).all())

    async def _update_and_log(
        self, table: Table, where: ColumnElement[bool], values: Mapping[str, Any], log: LogEntry
    ) -> Mapping[str, Any] | None:
        """One conditional UPDATE; the log row is written only when a row changed."""
        async with self._write() as conn:
            row = await self._cas(conn, table, where, values)
            if row is not None:
                await self._log(conn, log)
        return row
