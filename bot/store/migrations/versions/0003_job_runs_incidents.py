"""Job runs (one per job and window) and incidents (one alert and one recovery each).

Revision ID: 0003_job_runs_incidents
Revises: 0002_post_leases
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.columns import UtcDateTime

revision = "0003_job_runs_incidents"
down_revision = "0002_post_leases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("job", sa.Text, primary_key=True),
        sa.Column("window_start", UtcDateTime, primary_key=True),
        sa.Column("runner", sa.Text, nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("finished_at", UtcDateTime),
        sa.Column("outcome", sa.Text, nullable=False, server_default="running"),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
        sa.CheckConstraint(
            "outcome in ('running', 'success', 'failed')", name=op.f("job_runs_outcome_check")
        ),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("opened_at", UtcDateTime, nullable=False),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
        sa.Column("closed_at", UtcDateTime),
        sa.CheckConstraint(
            "scope in ('cx', 'sales', 'reliability', 'training')",
            name=op.f("incidents_scope_check"),
        ),
    )
    if op.get_context().dialect.name == "postgresql":
        for table in ("job_runs", "incidents"):
            op.execute(f"alter table {table} enable row level security")


def downgrade() -> None:
    op.drop_table("incidents")
    op.drop_table("job_runs")
