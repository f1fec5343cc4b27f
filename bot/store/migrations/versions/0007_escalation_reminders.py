"""Escalation reminders: one row per reminder, taken with the escalation's reminder count in
one transaction, then posted once (see bot.store.reminders).

Revision ID: 0007_escalation_reminders
Revises: 0006_escalation_notes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.columns import UtcDateTime
from bot.store.migrations import occ_apply

revision = "0007_escalation_reminders"
down_revision = "0006_escalation_notes"
branch_labels = None
depends_on = None

UNPOSTED = "message_channel is null and skipped_at is null"
# occ_apply (0004) writes only to the tables it lists; the function is replaced to add one:
# the tables before this revision, and after it.
BEFORE = (
    "drafts",
    "escalations",
    "decision_log",
    "job_runs",
    "incidents",
)
AFTER = (
    "drafts",
    "escalations",
    "decision_log",
    "job_runs",
    "incidents",
    "escalation_reminders",
)


def upgrade() -> None:
    op.create_table(
        "escalation_reminders",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("escalation_id", sa.Text, sa.ForeignKey("escalations.id"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("notify", sa.Text, nullable=False),
        sa.Column("due_at", UtcDateTime, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("message_channel", sa.Text),
        sa.Column("message_ts", sa.Text),
        sa.Column("message_lease_until", UtcDateTime),
        sa.Column("message_refusals", sa.Integer, nullable=False, server_default="0"),
        sa.Column("message_attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("skipped_at", UtcDateTime),
        sa.UniqueConstraint("escalation_id", "number", name="escalation_reminders_number_key"),
    )
    op.create_index(
        "escalation_reminders_unposted_idx",
        "escalation_reminders",
        ["created_at"],
        postgresql_where=sa.text(UNPOSTED),
        sqlite_where=sa.text(UNPOSTED),
    )
    if op.get_context().dialect.name == "postgresql":
        op.execute("alter table escalation_reminders enable row level security")
        op.execute(occ_apply.occ_table(AFTER))


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(occ_apply.occ_table(BEFORE))
    op.drop_index("escalation_reminders_unposted_idx", "escalation_reminders")
    op.drop_table("escalation_reminders")
