"""The escalation's private note in Chatwoot is delivered like a reply: a status, attempts,
backoff and a lease, so a failed note is retried instead of tried once.

Revision ID: 0006_escalation_notes
Revises: 0005_post_refusals
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.columns import UtcDateTime

revision = "0006_escalation_notes"
down_revision = "0005_post_refusals"
branch_labels = None
depends_on = None

STATUSES = "'none', 'queued', 'sending', 'sent', 'recorded', 'failed', 'gave_up'"


def upgrade() -> None:
    # Plain ADD COLUMNs: SQLite would rebuild the table for a batch, dropping the unnamed
    # CHECK constraints databases from the first release have. (SQLite cannot add a CHECK to
    # an existing table, so the status check is PostgreSQL's alone.)
    op.add_column(
        "escalations", sa.Column("note_status", sa.Text, nullable=False, server_default="none")
    )
    op.add_column(
        "escalations", sa.Column("note_attempts", sa.Integer, nullable=False, server_default="0")
    )
    op.add_column("escalations", sa.Column("note_next_attempt_at", UtcDateTime))
    op.add_column("escalations", sa.Column("note_last_error", sa.Text))
    op.add_column("escalations", sa.Column("note_message_id", sa.Text))
    op.add_column("escalations", sa.Column("note_sent_at", UtcDateTime))
    op.add_column("escalations", sa.Column("note_lease_until", UtcDateTime))
    if op.get_context().dialect.name == "postgresql":
        op.create_check_constraint(
            op.f("escalations_note_status_check"), "escalations", f"note_status in ({STATUSES})"
        )
    op.create_index(
        "escalations_note_due_idx",
        "escalations",
        ["created_at"],
        postgresql_where=sa.text("note_status in ('queued', 'failed', 'sending')"),
        sqlite_where=sa.text("note_status in ('queued', 'failed', 'sending')"),
    )


def downgrade() -> None:
    op.drop_index("escalations_note_due_idx", "escalations")
    if op.get_context().dialect.name == "postgresql":
        op.drop_constraint(op.f("escalations_note_status_check"), "escalations")
    for column in (
        "note_lease_until",
        "note_sent_at",
        "note_message_id",
        "note_last_error",
        "note_next_attempt_at",
        "note_attempts",
        "note_status",
    ):
        op.drop_column("escalations", column)
