"""Store fixtures: each contract test runs on SQLite, the real PostgreSQL, and Supabase's REST
API (served by the PostgREST stand-in).

PostgreSQL is required, never skipped: each test gets a fresh schema in
``$OCC_TEST_DATABASE_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``), dropped
afterwards. A connection failure is a test error.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from bot.store import Store, open_store
from bot.store.migrate import supabase_files
from bot.store.supabase import SupabaseStore
from tests.postgrest_standin import PostgrestStandin, serving

PG_URL = os.environ.get("OCC_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
SUPABASE_KEY = "test-service-role-key"
STANDIN_MAX_ROWS = 50  # small, so reading the log needs several pages


def schema_url(base_url: str, schema: str) -> str:
    """``base_url`` with every connection's search_path set to ``schema``."""
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}options=-csearch_path%3D{schema}"


@dataclass(frozen=True)
class Backend:
    name: str
    database_url: str | None = None
    supabase_url: str | None = None
    standin: PostgrestStandin | None = None

    def open(self) -> Store:
        key = SUPABASE_KEY if self.supabase_url else None
        return open_store(self.database_url, self.supabase_url, key)


@dataclass(frozen=True)
class RestServer:
    """The running PostgREST stand-in and how to reach it."""

    standin: PostgrestStandin
    url: str
    key: str = SUPABASE_KEY

    def open(self, **options: Any) -> SupabaseStore:
        return SupabaseStore(self.url, self.key, **options)


@pytest.fixture
def postgres_base_url() -> str:
    """The test PostgreSQL server's URL (no schema chosen)."""
    return PG_URL


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A URL whose connections work in a new, empty PostgreSQL schema."""
    schema = f"occ_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(schema)))
    try:
        yield schema_url(PG_URL, schema)
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(schema)))


@pytest.fixture
def postgrest() -> Iterator[RestServer]:
    """The PostgREST stand-in over a fresh schema of the test PostgreSQL server, with the
    migrations applied (as if pasted into the SQL editor); the schema is dropped afterwards."""
    schema_sql = "\n".join(supabase_files().values())
    standin = PostgrestStandin(
        api_key=SUPABASE_KEY,
        schema_sql=schema_sql,
        max_rows=STANDIN_MAX_ROWS,
        database_url=PG_URL,
    )
    with serving(standin) as url:  # stops the server, then drops the stand-in's schema
        yield RestServer(standin, url)


def _backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        return Backend("sqlite", database_url=f"sqlite:///{tmp_path / 'occ.db'}")
    if request.param == "postgres":
        return Backend("postgres", database_url=request.getfixturevalue("pg_schema_url"))
    server: RestServer = request.getfixturevalue("postgrest")
    return Backend("supabase", supabase_url=server.url, standin=server.standin)


@pytest.fixture(params=["sqlite", "postgres", "supabase"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return _backend(request, tmp_path)


@pytest.fixture(params=["sqlite", "postgres"])
def sql_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return _backend(request, tmp_path)


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Store]:
    """A migrated store on each backend."""
    opened = backend.open()
    await opened.migrate()
    try:
        yield opened
    finally:
        await opened.close()
