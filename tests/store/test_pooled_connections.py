"""Pooled PostgreSQL connections that the server ended while they sat idle (a restart, an
idle-session timeout, a pooler closing them) are replaced at checkout, not handed to a
statement that then fails."""

from __future__ import annotations

import asyncio
import os
import resource
import uuid

import psycopg
import pytest

from bot.store import open_store
from tests.store.helpers import stored_draft

pytest_plugins = ["tests.store_fixtures"]

PG_URL = os.environ.get("OCC_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _ended(application: str) -> list[int]:
    """Terminate the server processes of ``application``'s connections; their pids."""
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        rows = admin.execute(
            "select pid, pg_terminate_backend(pid) from pg_stat_activity"
            " where application_name = %s",
            (application,),
        ).fetchall()
    return [pid for pid, _ in rows]


async def _gone(pids: list[int]) -> None:
    """Wait (bounded) until those server processes have exited."""
    for _ in range(100):
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            left = admin.execute(
                "select count(*) from pg_stat_activity where pid = any(%s)", (pids,)
            ).fetchone()
        if left == (0,):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"server processes {pids} still there")


async def test_connections_the_server_ended_are_replaced_before_use(pg_schema_url: str) -> None:
    application = f"occ_pool_{uuid.uuid4().hex[:8]}"
    store = open_store(f"{pg_schema_url}&application_name={application}", None, None)
    try:
        await store.migrate()
        await stored_draft(store, "d-1")
        # several connections in the pool, all idle and recently used
        await asyncio.gather(*(store.get_draft("d-1") for _ in range(5)))
        ended = _ended(application)
        assert ended, "no pooled connection to end"
        await _gone(ended)

        found = await asyncio.gather(*(store.get_draft("d-1") for _ in range(5)))

        assert [draft.id for draft in found] == ["d-1"] * 5
    finally:
        await store.close()


async def test_connections_numbered_past_1024_are_used_like_any_other(pg_schema_url: str) -> None:
    # A busy replica holds many files; its database sockets then get descriptors past 1024,
    # which select() refuses: the check at checkout must not take that for a dead server.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    filler: list[int] = []
    try:
        while not filler or filler[-1] < 1100:
            filler.append(os.open(os.devnull, os.O_RDONLY))
        store = open_store(pg_schema_url, None, None)
        try:
            await store.migrate()
            await stored_draft(store, "d-1")
            found = [await store.get_draft("d-1") for _ in range(3)]  # each a checkout
            assert [draft.id for draft in found] == ["d-1"] * 3
        finally:
            await store.close()
    finally:
        for descriptor in filler:
            os.close(descriptor)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def test_a_postgresql_database_refuses_an_engine_whose_writes_nobody_would_commit():
    # A change runs as one statement on a connection that must autocommit; on an engine
    # left in transactions its row would come back and then be rolled back.
    from sqlalchemy.ext.asyncio import create_async_engine

    from bot.store.sql import SqlDatabase, async_url

    engine = create_async_engine(async_url(PG_URL))
    try:
        with pytest.raises(ValueError, match="must autocommit"):
            SqlDatabase(engine)
    finally:
        await engine.dispose()
