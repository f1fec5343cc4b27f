"""Persistence: the store protocols and the factory that picks a backend from settings.

Layout: `protocols` (what the bot may ask, per entity), `schema` (the tables, defined once),
`ops` (a state change or a read, written once), the entity stores written once on top of a
`database.Database` (`drafts`, `escalations`, `decision_log`, `job_runs`, `incidents`,
gathered in `store.OccStore`; `deliveries` and `posts` are the columns a Chatwoot delivery
and a Slack post share wherever they live), the two backends (`sql`, `supabase`), and `migrate`
(Alembic revisions and the SQL files for Supabase).
"""

from __future__ import annotations

from bot.domain import QueueSummary
from bot.store.errors import NotFound, SchemaNotApplied, StoreError
from bot.store.protocols import Store

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
