"""Choosing a backend, and several PostgreSQL replicas on one database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.domain import (
    Action,
)
from bot.store import open_store
from bot.store.outbox import reply_id
from bot.store.sql import SqlStore, async_url
from bot.store.supabase import SupabaseStore
from tests.store.helpers import (
    LEASE,
    T0,
    approval,
    draft_reply,
    entry,
    stored_draft,
)

pytest_plugins = ["tests.store_fixtures"]


async def test_two_postgres_replicas_agree_on_one_decision(pg_schema_url: str) -> None:
    replicas = [open_store(pg_schema_url, None, None) for _ in range(2)]
    try:
        await replicas[0].migrate()
        await stored_draft(replicas[0], "d-1")
        results = await asyncio.gather(
            *(
                replica.decide(
                    "d-1",
                    approval(actor=f"U{n}"),
                    messages=(draft_reply("d-1"),),
                    log=entry("d-1", Action.DRAFT_APPROVED, actor=f"U{n}"),
                )
                for n in range(10)
                for replica in replicas
            )
        )
        claims = await asyncio.gather(
            *(
                replica.claim_outbox_message(reply_id("d-1"), now=T0, lease_until=T0 + LEASE)
                for _ in range(5)
                for replica in replicas
            )
        )
        logged = await replicas[1].entries(subject_id="d-1")
    finally:
        for replica in replicas:
            await replica.close()

    assert sum(r is not None for r in results) == 1
    assert sum(c is not None for c in claims) == 1
    assert [str(e.action) for e in logged] == ["draft.received", "draft.approved"]


async def test_supabase_style_connection_string_is_accepted(postgres_base_url: str) -> None:
    # Supabase hands out postgres://…?sslmode=require; the scheme and query must pass through.
    url = postgres_base_url.replace("postgresql://", "postgres://", 1) + "?sslmode=prefer"
    supabase_like = open_store(url, None, None)
    try:
        await supabase_like.ping()
    finally:
        await supabase_like.close()


def test_database_urls_map_to_async_drivers() -> None:
    supabase = "postgres://postgres.ref:pw@aws-0.pooler.supabase.com:6543/postgres?sslmode=require"
    assert async_url(supabase) == (
        "postgresql+psycopg://postgres.ref:pw@aws-0.pooler.supabase.com:6543/postgres"
        "?sslmode=require"
    )
    assert async_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert async_url("sqlite:///./occ.db") == "sqlite+aiosqlite:///./occ.db"
    with pytest.raises(ValueError, match="DATABASE_URL"):
        async_url("mysql://u@h/db")


async def test_open_store_prefers_database_url_then_supabase(tmp_path: Path) -> None:
    sql_store = open_store(f"sqlite:///{tmp_path / 'a.db'}", "https://x.supabase.co", "key")
    rest_store = open_store(None, "https://x.supabase.co", "key")
    try:
        assert isinstance(sql_store, SqlStore)
        assert isinstance(rest_store, SupabaseStore)
        with pytest.raises(ValueError, match="SUPABASE"):
            open_store(None, "https://x.supabase.co", None)
    finally:
        await sql_store.close()
        await rest_store.close()
