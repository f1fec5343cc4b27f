"""Persistence: the `Store` and the factory that picks a backend from settings.

Layout: one module per entity (`drafts`, `escalations`, `reminders`, `outbox`, `sales`,
`inbound`, `decision_log`, `job_runs`, `incidents`, `data_sources`, `stats`), each holding its
table, its row mapping and its store: methods written once on top of a `database.Database`,
whose docstrings are the contract. `store.Store` gathers them. Shared by several entities:
`columns` (the metadata, column types and checks), `codec` (time and JSON in rows),
`deliveries` and `posts` (the columns a Chatwoot delivery and a Slack post share wherever
they live), `ops` (a state change or a read, as data). `schema` is every table on one
metadata; the two backends are `sql` and `supabase`; `migrate` runs the Alembic revisions
(`migrations/`) and writes the SQL files for Supabase.
"""

from __future__ import annotations

from bot.domain import QueueSummary
from bot.store.errors import NotFound, SchemaNotApplied, StoreError
from bot.store.store import Store

DEFAULT_DATABASE_URL = "sqlite:///./occ.db"

__all__ = [
    "DEFAULT_DATABASE_URL",
    "NotFound",
    "QueueSummary",
    "SchemaNotApplied",
    "Store",
    "StoreError",
    "open_store",
]


def open_store(
    database_url: str | None, supabase_url: str | None, supabase_key: str | None
) -> Store:
    """The configured store; nothing connects until first use.

    ``DATABASE_URL`` wins (SQLite or PostgreSQL, Supabase's connection string included);
    without it, ``SUPABASE_URL`` + ``SUPABASE_SERVICE_ROLE_KEY`` select the REST backend;
    with neither, SQLite at ``./occ.db``.
    """
    if database_url:
        from bot.store.sql import SqlStore

        return SqlStore.from_url(database_url)
    if supabase_url or supabase_key:
        if not (supabase_url and supabase_key):
            raise ValueError("SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY must be set together")
        # imported here: the supabase package is large and most deployments use SQL
        from bot.store.supabase import SupabaseStore

        return SupabaseStore(supabase_url, supabase_key)
    from bot.store.sql import SqlStore

    return SqlStore.from_url(DEFAULT_DATABASE_URL)
