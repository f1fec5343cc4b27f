"""Alembic's environment for occ-bot: run by `bot.store.migrate`, never by a global alembic.ini.

Online, the caller hands over an open connection (``config.attributes["connection"]``), so
migrating happens inside the store's own engine and lock. Offline (``--sql``), it renders
PostgreSQL for Supabase's SQL editor.
"""

from __future__ import annotations

from alembic import context

from bot.store.schema import metadata

config = context.config

if context.is_offline_mode():
    context.configure(
        dialect_name="postgresql",
        target_metadata=metadata,
        literal_binds=True,
        transactional_ddl=True,
        dialect_opts={"paramstyle": "named"},  # so "%" in functions is not doubled
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()
