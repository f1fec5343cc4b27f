"""The CX tile (`/occ cx`, the Home tab): when each draft's customer began waiting, as a column,
and a view of the conversations waiting on a draft nobody has decided, one row each with its
longest wait, so that "past the CX SLA now" is counted and ordered in SQL on every backend.

A draft's customer began waiting at the oldest Chatwoot message it answers (a newer draft
takes over the messages of the drafts it supersedes), at the start of the wait a CX breach
card was carded for, or else when the draft arrived. Existing drafts are filled in from those
three sources. The index covers the drafts awaiting a decision (the queue), which is all the
view reads.

Revision ID: 0022_cx_tile
Revises: 0021_sales_snapshots
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.columns import UtcDateTime
from bot.store.migrations.occ_apply import revoke_from_api_roles

revision = "0022_cx_tile"
down_revision = "0021_sales_snapshots"
branch_labels = None
depends_on = None

AWAITING = "state = 'pending' and superseded_by is null and retired_at is null and scope = 'cx'"
VIEW = "occ_cx_waits"
FIRST_MESSAGES = (
    "select draft_id, min(received_at) as first_at from inbound_messages "
    "where draft_id is not null group by draft_id"
)


def upgrade() -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    op.add_column("drafts", sa.Column("waiting_since", UtcDateTime))
    op.execute("update drafts set waiting_since = received_at")
    if postgres:
        op.execute(
            f"update drafts set waiting_since = m.first_at from ({FIRST_MESSAGES}) as m "
            "where m.draft_id = drafts.id"
        )
        op.execute(
            "update drafts set waiting_since = (input->'breach'->>'waiting_since')::timestamptz "
            "where input->'breach'->>'waiting_since' is not null"
        )
    else:  # correlated (SQLite's UPDATE … FROM needs 3.33); SQLite databases are small
        op.execute(
            "update drafts set waiting_since = (select min(m.received_at) from inbound_messages m "
            "where m.draft_id = drafts.id) "
            "where exists (select 1 from inbound_messages m where m.draft_id = drafts.id)"
        )
        # The breach's time (Python's isoformat: six digits of microseconds, or none) as
        # UtcDateTime's fixed-width UTC text.
        breach = "json_extract(input, '$.breach.waiting_since')"
        micros = (
            f"case when substr({breach}, 20, 1) = '.' then substr({breach}, 21, 6) "
            "else '000000' end"
        )
        op.execute(
            f"update drafts set waiting_since = "
            f"strftime('%Y-%m-%dT%H:%M:%S', {breach}) || '.' || {micros} || 'Z' "
            f"where {breach} is not null"
        )
    op.create_index(
        "drafts_waiting_idx",
        "drafts",
        ["conversation_id", "waiting_since"],
        postgresql_where=sa.text(AWAITING),
        sqlite_where=sa.text(AWAITING),
    )
    # security_invoker: as 0013's views, so row level security still applies on Supabase.
    options = " with (security_invoker = true)" if postgres and _invoker_views() else ""
    op.execute(
        f"create view {VIEW}{options} as select conversation_id, "
        "min(waiting_since) as waiting_since "
        f"from drafts where {AWAITING} group by conversation_id"
    )
    if postgres:
        op.execute(revoke_from_api_roles((VIEW,)))


def _invoker_views() -> bool:
    context = op.get_context()
    if context.as_sql:  # writing Supabase's SQL files
        return True
    version = context.bind.dialect.server_version_info if context.bind is not None else None
    return version is None or version >= (15,)


def downgrade() -> None:
    op.execute(f"drop view {VIEW}")
    op.drop_index("drafts_waiting_idx", "drafts")
    op.drop_column("drafts", "waiting_since")
