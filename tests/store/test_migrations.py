"""Migrations: Alembic revisions, the schema they build, the Supabase SQL files, upgrades."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pytest

from bot.store import SchemaNotApplied, open_store, revisions
from bot.store import migrate as schema_migrations
from bot.store.drafts import draft_row
from bot.store.supabase import SupabaseStore
from tests.postgrest_standin import PostgrestStandin, serving
from tests.store.helpers import (
    LEASE,
    T0,
    make_draft,
    stored_draft,
)

if TYPE_CHECKING:
    from sqlalchemy import BindParameter, Connection, Engine

    from tests.store_fixtures import Backend

pytest_plugins = ["tests.store_fixtures"]


SHIPPED = [
    "0001_init",
    "0002_post_leases",
    "0003_job_runs_incidents",
    "0004_rest_transactions",
    "0005_post_refusals",
    "0006_escalation_notes",
    "0007_escalation_reminders",
    "0008_resolutions_outbox",
    "0009_sales_alerts",
    "0010_data_sources",
    "0011_inbound_messages",
    "0012_decided_index",
    "0013_stats_views",
    "0014_training",
    "0015_verified_email",
    "0016_supabase_hardening",
    "0017_one_outbox",
    "0018_retired_drafts",
    "0019_chatwoot_assignees",
    "0020_qa_reviews",
    "0021_sales_snapshots",
    "0022_cx_tile",
]
LEGACY_SQL = Path(__file__).parents[1] / "fixtures" / "legacy_schema"


def legacy_sql(flavour: str, name: str) -> str:
    """A schema file as occ-bot shipped it before Alembic (it recorded schema_migrations)."""
    return (LEGACY_SQL / flavour / f"{name}.sql").read_text(encoding="utf-8")


async def test_migrate_twice_is_a_noop(backend: Backend) -> None:
    first, second = backend.open(), backend.open()
    try:
        applied = await first.migrate()
        assert await first.migrate() == []
        assert await second.migrate() == []
    finally:
        await first.close()
        await second.close()

    expected = [] if backend.name == "supabase" else SHIPPED
    assert applied == expected


async def test_sqlite_database_folder_is_created_on_migrate(tmp_path: Path) -> None:
    fresh = open_store(f"sqlite:///{tmp_path / 'data' / 'occ.db'}", None, None)
    try:
        assert await fresh.migrate() == SHIPPED
    finally:
        await fresh.close()

    assert (tmp_path / "data" / "occ.db").is_file()


async def test_replicas_starting_together_apply_each_migration_once(sql_backend: Backend) -> None:
    replicas = [sql_backend.open() for _ in range(4)]
    try:
        results = await asyncio.gather(*(replica.migrate() for replica in replicas))
        await replicas[0].ping()
    finally:
        for replica in replicas:
            await replica.close()

    assert sorted(name for applied in results for name in applied) == SHIPPED


def test_the_shipped_revisions_are_the_expected_ones() -> None:
    assert schema_migrations.revisions() == SHIPPED


def test_the_revisions_read_without_alembic_are_alembics() -> None:
    """A start checks the database against these, and loads Alembic only when behind."""
    assert revisions.known() == list(revisions.shipped() or ()) == SHIPPED


@pytest.mark.parametrize("flavour", ["postgres", "sqlite"])
def test_the_migrated_database_is_the_schema_defined_in_schema_py(
    flavour: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine

    from bot.store.schema import metadata

    if flavour == "postgres":
        url = request.getfixturevalue("pg_schema_url").replace(
            "postgresql://", "postgresql+psycopg://"
        )
    else:
        url = f"sqlite:///{tmp_path / 'occ.db'}"
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            schema_migrations.upgrade(conn)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()

    # SQLite's decision_log keeps its rowid as `seq` (the primary key) and a unique `id`, and
    # its drafts keep the unused reply_* columns (0017 says why).
    if flavour == "sqlite":
        differences = [
            d
            for d in differences
            if not (d[0] == "remove_constraint" and d[1].table.name == "decision_log")
            and not (d[0] == "remove_column" and d[3].name.startswith("reply_"))
        ]
    assert differences == []


@pytest.mark.parametrize("flavour", ["postgres", "sqlite"])
def test_the_partial_indexes_of_schema_py_index_only_their_rows(
    flavour: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Alembic's comparison above does not look at an index's WHERE: read the index itself."""
    from sqlalchemy import create_engine, text

    from bot.store.columns import PARTIAL
    from bot.store.schema import metadata

    partial = {
        str(index.name): index.info[PARTIAL]
        for table in metadata.tables.values()
        for index in table.indexes
        if PARTIAL in index.info
    }
    if flavour == "postgres":
        url = request.getfixturevalue("pg_schema_url").replace(
            "postgresql://", "postgresql+psycopg://"
        )
        definitions = "select indexname, indexdef from pg_indexes"
    else:
        url = f"sqlite:///{tmp_path / 'occ.db'}"
        definitions = "select name, sql from sqlite_master where type = 'index'"
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            schema_migrations.upgrade(conn)
        with engine.connect() as conn:
            found = dict(conn.execute(text(definitions)).tuples().all())
    finally:
        engine.dispose()

    assert len(partial) >= 15
    for name in partial:
        assert " WHERE " in found[name].upper(), f"{name}: {found[name]}"


def test_the_supabase_sql_files_are_the_migrations_rendered_for_postgres() -> None:
    shipped = {
        path.name: path.read_text(encoding="utf-8")
        for path in schema_migrations.SUPABASE_SQL.glob("*.sql")
    }
    assert shipped == schema_migrations.supabase_files(), (
        "regenerate them: python -m bot.store.migrate --write-supabase"
    )


def _deploy_first_migration(backend: Backend) -> None:
    """The database as occ-bot's first release left it, holding a pending draft whose card
    never posted."""
    row = draft_row(make_draft("d-legacy"))
    values = (
        row["id"],
        row["conversation_id"],
        json.dumps(row["input"]),
        json.dumps(row["flags"]),
        T0.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    )
    columns = "id, conversation_id, input, flags, received_at"
    if backend.name == "sqlite":
        path = backend.database_url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            conn.executescript(legacy_sql("sqlite", "0001_init"))
            conn.execute(f"insert into drafts ({columns}) values (?, ?, ?, ?, ?)", values)
        conn.close()
        return
    with psycopg.connect(backend.database_url, autocommit=True) as conn:
        conn.execute(legacy_sql("postgres", "0001_init"))
        conn.execute(f"insert into drafts ({columns}) values (%s, %s, %s, %s, %s)", values)


async def test_a_database_from_the_first_release_is_upgraded_and_keeps_its_drafts(
    sql_backend: Backend,
) -> None:
    _deploy_first_migration(sql_backend)
    upgraded = sql_backend.open()
    try:
        applied = await upgraded.migrate()
        again = await upgraded.migrate()
        unposted = await upgraded.unposted_drafts(T0)
        claimed = await upgraded.claim_card_post("d-legacy", now=T0, lease_until=T0 + LEASE)
    finally:
        await upgraded.close()

    assert applied == SHIPPED[1:]
    assert again == []
    assert unposted == ["d-legacy"]
    assert claimed == make_draft("d-legacy")


async def test_postgres_set_up_from_the_old_sql_files_pasted_twice_upgrades(
    pg_schema_url: str,
) -> None:
    # What a Supabase user did in the SQL editor: paste each file, maybe more than once.
    with psycopg.connect(pg_schema_url, autocommit=True) as conn:
        for name in ("0001_init", "0002_post_leases", "0002_post_leases"):
            conn.execute(legacy_sql("postgres", name))
    store = open_store(pg_schema_url, None, None)
    try:
        assert await store.migrate() == SHIPPED[2:]
        await stored_draft(store, "d-1")
        assert await store.claim_card_post("d-1", now=T0, lease_until=T0 + LEASE) is not None
    finally:
        await store.close()


async def test_supabase_from_the_first_release_is_told_which_files_to_paste() -> None:
    row = draft_row(make_draft("d-legacy"))
    legacy_draft = (
        "insert into drafts (id, conversation_id, input, flags, received_at) values "
        f"('d-legacy', {row['conversation_id']}, '{json.dumps(row['input'])}', "
        f"'{json.dumps(row['flags'])}', '{T0.isoformat()}')"
    ).replace("\\'", "''")
    standin = PostgrestStandin(api_key="key", schema_sql=legacy_sql("postgres", "0001_init"))
    files = schema_migrations.supabase_files()
    with serving(standin) as url:
        rest = SupabaseStore(url, "key")
        try:
            standin.apply_sql(legacy_draft)
            with pytest.raises(SchemaNotApplied) as told:
                await rest.migrate()
            for name in SHIPPED[1:]:
                standin.apply_sql(files[f"{name}.sql"])
            assert await rest.migrate() == []
            assert await rest.unposted_drafts(T0) == ["d-legacy"]
            claimed = await rest.claim_card_post("d-legacy", now=T0, lease_until=T0 + LEASE)
        finally:
            await rest.close()

    message = str(told.value)
    assert ", ".join(f"bot/store/supabase/{name}.sql" for name in SHIPPED[1:]) in message
    assert claimed == make_draft("d-legacy")


def test_each_revision_passes_on_the_tables_occ_apply_may_write() -> None:
    """A revision that replaces occ_table writes out every table occ_apply may write after it
    (``AFTER``) and the list it found (``BEFORE``, what its downgrade restores), which is what
    the revision before left; the newest list names every table of the schema."""
    from bot.store.schema import TABLES

    scripts = schema_migrations.scripts()
    allowed: tuple[str, ...] | None = None
    for revision in schema_migrations.revisions():
        module = scripts.get_revision(revision).module
        if hasattr(module, "BEFORE"):
            assert allowed == module.BEFORE, f"{revision}: BEFORE is not what the one before left"
        if hasattr(module, "AFTER"):
            allowed = module.AFTER
            assert len(set(allowed)) == len(allowed), f"{revision}: a table listed twice"

    assert allowed is not None
    assert sorted(allowed) == sorted(TABLES), (
        "a revision that adds a table lets occ_apply write it (occ_apply.replace_occ_table)"
    )


@pytest.mark.parametrize("flavour", ["postgres", "sqlite"])
def test_a_revision_creates_each_table_as_its_entity_defines_it(
    flavour: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """`bot.store.migrations.tables.create`, what a new entity's revision runs, makes the table
    its entity module defines (columns, keys, checks, indexes); `drop` takes it away."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from alembic.operations import Operations
    from sqlalchemy import create_engine, inspect

    from bot.store.migrations import tables
    from bot.store.schema import metadata

    if flavour == "postgres":
        url = request.getfixturevalue("pg_schema_url").replace(
            "postgresql://", "postgresql+psycopg://"
        )
    else:
        url = f"sqlite:///{tmp_path / 'occ.db'}"
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            context = MigrationContext.configure(conn, opts={"target_metadata": metadata})
            with Operations.context(context):
                for table in metadata.sorted_tables:
                    tables.create(table)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, metadata)
        with engine.begin() as conn:
            context = MigrationContext.configure(conn, opts={"target_metadata": metadata})
            with Operations.context(context):
                for table in reversed(metadata.sorted_tables):
                    tables.drop(table)
        with engine.connect() as conn:
            left = inspect(conn).get_table_names()
    finally:
        engine.dispose()

    assert differences == []
    assert left == []


def _at_revision(database_url: str, revision: str) -> Engine:
    """A database migrated up to ``revision``, and an engine on it."""
    from alembic import command
    from sqlalchemy import create_engine

    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        cfg = schema_migrations.config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return engine


async def test_queued_replies_and_notes_are_carried_into_the_outbox_as_they_stood(
    sql_backend: Backend,
) -> None:
    from sqlalchemy import text

    from bot.domain import Delivery, DeliveryStatus
    from bot.flows.outbox import marker_of
    from bot.store.drafts import drafts_table
    from bot.store.escalations import escalation_row, escalations_table
    from bot.store.outbox import note_id, reply_id
    from tests.store.helpers import make_escalation

    assert sql_backend.database_url is not None
    engine = _at_revision(sql_backend.database_url, "0016_supabase_hardening")
    retry_at, lease_until = T0 + timedelta(minutes=2), T0 + LEASE
    times = {"t0": T0, "retry_at": retry_at, "lease_until": lease_until}
    replies = {  # draft: (decision, reply columns)
        "d-sent": ("approve", "status = 'sent', attempts = 1, message_id = '9001'"),
        "d-failed": ("edit", "status = 'failed', attempts = 2, next_attempt_at = :retry_at"),
        "d-leased": ("approve", "status = 'sending', attempts = 1, lease_until = :lease_until"),
        "d-rejected": ("reject", "status = 'none'"),
    }
    try:
        with engine.begin() as conn:
            for draft_id, (kind, reply) in replies.items():
                row = draft_row(make_draft(draft_id))
                conn.execute(drafts_table.insert().values(_columns_of(conn, "drafts", row)))
                reply = reply.replace(", ", ", reply_").replace("status", "reply_status", 1)
                decided = text(
                    f"update drafts set decision_kind = '{kind}', decided_by = 'U0OP', "
                    f"decided_at = :t0, final_text = 'Hi Susan!', {reply} where id = '{draft_id}'"
                )
                conn.execute(decided.bindparams(*_times(decided.text, times)))
            for escalation_id, draft_id, note in (
                (
                    "esc-1",
                    "d-sent",
                    "note_status = 'failed', note_attempts = 1, note_next_attempt_at = :t0",
                ),
                ("esc-2", "d-failed", "note_status = 'none'"),
            ):
                row = escalation_row(make_escalation(escalation_id, draft_id, due_at=T0))
                conn.execute(
                    escalations_table.insert().values(_columns_of(conn, "escalations", row))
                )
                noted = text(f"update escalations set {note} where id = '{escalation_id}'")
                conn.execute(noted.bindparams(*_times(noted.text, times)))
    finally:
        engine.dispose()

    store = sql_backend.open()
    try:
        assert await store.migrate() == SHIPPED[SHIPPED.index("0017_one_outbox") :]
        drafts = {draft_id: await store.get_draft(draft_id) for draft_id in replies}
        failed_reply = await store.get_outbox_message(reply_id("d-failed"))
        note = await store.get_outbox_message(note_id("esc-1"))
        no_note = await store.get_outbox_message(note_id("esc-2"))
        no_reply = await store.get_outbox_message(reply_id("d-rejected"))
        due_now = await store.due_outbox_messages(T0)
        due_later = await store.due_outbox_messages(T0 + timedelta(hours=1))
    finally:
        await store.close()

    sent, failed, leased = (drafts[d].reply for d in ("d-sent", "d-failed", "d-leased"))
    assert sent == Delivery(status=DeliveryStatus.SENT, attempts=1, message_id="9001")
    assert failed == Delivery(status=DeliveryStatus.FAILED, attempts=2, next_attempt_at=retry_at)
    assert leased == Delivery(status=DeliveryStatus.SENDING, attempts=1, lease_until=lease_until)
    assert drafts["d-rejected"].reply == Delivery() and no_reply is None
    assert failed_reply is not None
    assert (failed_reply.content, failed_reply.actor) == ("Hi Susan!", "U0OP")
    assert (failed_reply.action, failed_reply.created_at) == ("reply.sent", T0)
    assert note is not None and no_note is None
    assert note.delivery == Delivery(status=DeliveryStatus.FAILED, attempts=1, next_attempt_at=T0)
    assert "Refund over $100" in note.content
    # What the outbox searches the conversation for before sending the note again: the
    # marker the note has always carried, so one that reached Chatwoot is not added twice.
    assert marker_of(note) == "occ-bot escalation esc-1"
    assert due_now == [note.id]
    assert set(due_later) == {note.id, reply_id("d-failed"), reply_id("d-leased")}


def _times(sql: str, times: dict[str, datetime]) -> list[BindParameter[datetime]]:
    """The times ``sql`` names, bound as the store writes them."""
    from sqlalchemy import bindparam

    from bot.store.columns import UtcDateTime

    return [bindparam(n, t, type_=UtcDateTime) for n, t in times.items() if f":{n}" in sql]


def _columns_of(conn: Connection, table: str, row: dict[str, Any]) -> dict[str, Any]:
    """The part of ``row`` that a table has at the revision the database is at (columns
    added later are left out)."""
    from sqlalchemy import inspect

    there = {column["name"] for column in inspect(conn).get_columns(table)}
    return {name: value for name, value in row.items() if name in there}


async def test_the_drafts_waiting_before_0022_wait_since_their_oldest_message_or_breach(
    sql_backend: Backend,
) -> None:
    """0022 fills in when each existing draft's customer began waiting: the oldest Chatwoot
    message it answers, the wait its breach card was carded for, or else its arrival."""
    from dataclasses import replace

    from bot.domain import ConversationLine, CxBreach, InboundMessage
    from bot.store.drafts import drafts_table
    from bot.store.inbound import inbound_row, messages_table

    def waiting(draft_id: str, conversation_id: int, **changes: Any) -> dict[str, Any]:
        draft = make_draft(draft_id, at=T0)
        data = replace(draft.input, conversation_id=conversation_id, **changes)
        return draft_row(replace(draft, input=data))

    breach_since = T0 - timedelta(minutes=95)
    breach = CxBreach(breach_since, (ConversationLine(True, "Dana", "Hello?", breach_since),))
    messages = [
        InboundMessage(
            id=f"chatwoot-msg-{n}",
            conversation_id=1,
            message_id=n,
            content=text,
            customer_name="Dana",
            customer_email=None,
            received_at=T0 - timedelta(minutes=minutes),
            draft_id="d-webhook",
        )
        for n, text, minutes in ((7, "Where is my order?", 80), (8, "Hello??", 70))
    ]
    assert sql_backend.database_url is not None
    engine = _at_revision(sql_backend.database_url, "0021_sales_snapshots")
    try:
        with engine.begin() as conn:
            for row in (
                waiting("d-webhook", 1),
                waiting("d-breach", 2, breach=breach, external_id="cx-breach-2"),
                waiting("d-posted", 3),
            ):
                conn.execute(drafts_table.insert().values(_columns_of(conn, "drafts", row)))
            for message in messages:
                conn.execute(messages_table.insert().values(inbound_row(message)))
    finally:
        engine.dispose()

    store = sql_backend.open()
    try:
        assert await store.migrate() == ["0022_cx_tile"]
        waits = await store.cx_waits(T0, 10)
    finally:
        await store.close()

    assert [(w.conversation_id, w.waiting_since, w.last_message) for w in waits.longest] == [
        (2, breach_since, "Hello?"),  # its last customer line
        (1, T0 - timedelta(minutes=80), "Hello??"),
        (3, T0, waits.longest[2].draft.input.customer_message),
    ]
