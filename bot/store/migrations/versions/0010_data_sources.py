"""Data freshness: when each source (Shopify, Chatwoot) was last read, and its last error.

Revision ID: 0010_data_sources
Revises: 0009_sales_alerts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.columns import UtcDateTime
from bot.store.migrations import occ_apply

revision = "0010_data_sources"
down_revision = "0009_sales_alerts"
branch_labels = None
depends_on = None

# The tables occ_apply may write (see 0007): before this revision, and after it.
BEFORE = (
    "drafts",
    "escalations",
    "decision_log",
    "job_runs",
    "incidents",
    "escalation_reminders",
    "chatwoot_outbox",
    "sales_alerts",
    "sales_responses",
    "sales_followups",
)
AFTER = (
    "drafts",
    "escalations",
    "decision_log",
    "job_runs",
    "incidents",
    "escalation_reminders",
    "chatwoot_outbox",
    "sales_alerts",
    "sales_responses",
    "sales_followups",
    "data_sources",
)


def upgrade() -> None:
    op.create_table(
        "data_sources",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("first_tried_at", UtcDateTime, nullable=False),
        sa.Column("last_ok_at", UtcDateTime),
        sa.Column("last_error", sa.Text),
        sa.Column("last_error_at", UtcDateTime),
    )
    if op.get_context().dialect.name == "postgresql":
        op.execute("alter table data_sources enable row level security")
        op.execute(occ_apply.occ_table(AFTER))


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(occ_apply.occ_table(BEFORE))
    op.drop_table("data_sources")
