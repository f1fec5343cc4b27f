"""`occ_apply`: one state change in one transaction, for the Supabase REST backend.

PostgREST runs one statement per request, so a decision and its log row sent as two
requests could land half. The REST backend sends each `bot.store.ops.Change` to this
function instead (``rpc('occ_apply')``): the conditional write, then the rows that belong
with it, in the function's one transaction, or nothing. Conditions and values arrive as JSON
and are typed through ``jsonb_populate_record`` against the table's own row type, so the
function needs no per-table code. PostgreSQL only; the SQL backends run changes directly.

Revision ID: 0004_rest_transactions
Revises: 0003_job_runs_incidents
"""

from __future__ import annotations

from alembic import op

from bot.store.migrations import occ_apply

revision = "0004_rest_transactions"
down_revision = "0003_job_runs_incidents"
branch_labels = None
depends_on = None

# The tables occ_apply may write (a later revision that adds one replaces occ_table).
AFTER = (
    "drafts",
    "escalations",
    "decision_log",
    "job_runs",
    "incidents",
)


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(occ_apply.functions(AFTER))


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "drop function if exists occ_apply(jsonb); "
            "drop function if exists occ_insert(text, jsonb, boolean); "
            "drop function if exists occ_conditions(text, jsonb); "
            "drop function if exists occ_table(text);"
        )
