"""Sales Pulse: alerts (one open per condition), the responses to them, and follow-ups.

Revision ID: 0009_sales_alerts
Revises: 0008_resolutions_outbox
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.columns import Json, UtcDateTime
from bot.store.migrations import occ_apply

revision = "0009_sales_alerts"
down_revision = "0008_resolutions_outbox"
branch_labels = None
depends_on = None

OPEN_ALERT = "superseded_by is null and cleared_at is null"
# The tables occ_apply may write (see 0007): before this revision, and after it.
BEFORE = (
    "drafts",
    "escalations",
    "decision_log",
    "job_runs",
    "incidents",
    "escalation_reminders",
    "chatwoot_outbox",
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
)


def _post_columns(prefix: str) -> list[sa.Column]:
    return [
        sa.Column(f"{prefix}_channel", sa.Text),
        sa.Column(f"{prefix}_ts", sa.Text),
        sa.Column(f"{prefix}_lease_until", UtcDateTime),
        sa.Column(f"{prefix}_refusals", sa.Integer, nullable=False, server_default="0"),
    ]


def upgrade() -> None:
    op.create_table(
        "sales_alerts",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("condition", sa.Text, nullable=False),
        sa.Column("trigger", sa.Text, nullable=False),
        sa.Column("finding", Json, nullable=False),
        sa.Column("opened_at", UtcDateTime, nullable=False),
        sa.Column("supersedes", sa.Text),
        sa.Column("superseded_by", sa.Text),
        sa.Column("cleared_at", UtcDateTime),
        *_post_columns("message"),
        *_post_columns("clear"),
    )
    op.create_index(
        "sales_alerts_open_condition_idx",
        "sales_alerts",
        ["condition"],
        unique=True,
        postgresql_where=sa.text(OPEN_ALERT),
        sqlite_where=sa.text(OPEN_ALERT),
    )
    op.create_table(
        "sales_responses",
        sa.Column("alert_id", sa.Text, sa.ForeignKey("sales_alerts.id"), primary_key=True),
        sa.Column("response", sa.Text, primary_key=True),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("detail", Json, nullable=False, server_default=sa.text("'{}'")),
    )
    op.create_table(
        "sales_followups",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("alert_id", sa.Text, sa.ForeignKey("sales_alerts.id"), nullable=False),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("due_at", UtcDateTime, nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("reminded_at", UtcDateTime),
    )
    op.create_index(
        "sales_followups_due_idx",
        "sales_followups",
        ["due_at"],
        postgresql_where=sa.text("reminded_at is null"),
        sqlite_where=sa.text("reminded_at is null"),
    )
    if op.get_context().dialect.name == "postgresql":
        for table in ("sales_alerts", "sales_responses", "sales_followups"):
            op.execute(f"alter table {table} enable row level security")
        op.execute(occ_apply.occ_table(AFTER))


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(occ_apply.occ_table(BEFORE))
    op.drop_index("sales_followups_due_idx", "sales_followups")
    op.drop_table("sales_followups")
    op.drop_table("sales_responses")
    op.drop_index("sales_alerts_open_condition_idx", "sales_alerts")
    op.drop_table("sales_alerts")
