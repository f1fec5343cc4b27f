"""The whole schema: every entity module's tables on one `metadata`, and the views (the
team's numbers, the CX tile).

Each table is defined once, in its entity module (`bot.store.drafts`, `bot.store.escalations`
…) beside its rows and its store; the column types and checks they share are in
`bot.store.columns`. Importing this module imports every entity module, so `metadata` is
complete: the SQL backends query it, Alembic compares the migrated database with it (a test
does too), and a new entity's revision creates its table from it
(`bot.store.migrations.tables.create`). The Supabase SQL files are the revisions rendered for
PostgreSQL (`python -m bot.store.migrate --write-supabase`).
"""

from __future__ import annotations

from bot.store import (
    chatwoot_conversations,
    customer_waits,
    data_sources,
    decision_log,
    drafts,
    escalations,
    inbound,
    incidents,
    job_runs,
    outbox,
    qa_reviews,
    reminders,
    sales,
    sales_snapshots,
    stats,
)
from bot.store.columns import metadata, views

# Every module that defines a table (and the views), in the order the tables came.
ENTITIES = (
    drafts,
    escalations,
    outbox,
    reminders,
    sales,
    data_sources,
    inbound,
    decision_log,
    job_runs,
    incidents,
    qa_reviews,
    stats,
    chatwoot_conversations,
    sales_snapshots,
    customer_waits,
)
TABLES = tuple(metadata.tables)

__all__ = ["ENTITIES", "TABLES", "metadata", "views"]
