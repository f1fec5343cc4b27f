"""How managers resolve escalations, and the Chatwoot outbox that delivers their replies and
notes once (see bot.flows.outbox).

Revision ID: 0008_resolutions_outbox
Revises: 0007_escalation_reminders
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.columns import UtcDateTime
from bot.store.migrations import occ_apply

revision = "0008_resolutions_outbox"
down_revision = "0007_escalation_reminders"
branch_labels = None
depends_on = None

DUE = "delivery_status in ('queued', 'failed', 'sending')"
STATUSES = "'none', 'queued', 'sending', 'sent', 'recorded', 'failed', 'gave_up'"
# The tables occ_apply may write (see 0007): before this revision, and after it.
BEFORE = (
    "drafts",
    "escalations",
    "decision_log",
    "job_runs",
    "incidents",
    "escalation_reminders",
)
AFTER = (
    "drafts",
    "escalations",
    "decision_log",
    "job_runs",
    "incidents",
    "escalation_reminders",
    "chatwoot_outbox",
)


def upgrade() -> None:
    # Plain ADD COLUMNs (see 0006): no table rebuild on SQLite.
    op.add_column("escalations", sa.Column("resolution_outcome", sa.Text))
    op.add_column("escalations", sa.Column("resolution_summary", sa.Text))
    op.add_column("escalations", sa.Column("resolution_amount_usd", sa.Float))
    op.add_column("escalations", sa.Column("resolution_reply", sa.Text))
    op.add_column("escalations", sa.Column("resolution_notes", sa.Text))
    op.create_table(
        "chatwoot_outbox",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("subject_id", sa.Text, nullable=False),
        sa.Column("conversation_id", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("delivery_status", sa.Text, nullable=False, server_default="none"),
        sa.Column("delivery_attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("delivery_next_attempt_at", UtcDateTime),
        sa.Column("delivery_last_error", sa.Text),
        sa.Column("delivery_message_id", sa.Text),
        sa.Column("delivery_sent_at", UtcDateTime),
        sa.Column("delivery_lease_until", UtcDateTime),
        sa.CheckConstraint("kind in ('reply', 'note')", name=op.f("chatwoot_outbox_kind_check")),
        sa.CheckConstraint(
            f"delivery_status in ({STATUSES})", name=op.f("chatwoot_outbox_delivery_status_check")
        ),
    )
    op.create_index("chatwoot_outbox_subject_idx", "chatwoot_outbox", ["subject_id", "created_at"])
    op.create_index(
        "chatwoot_outbox_due_idx",
        "chatwoot_outbox",
        ["created_at"],
        postgresql_where=sa.text(DUE),
        sqlite_where=sa.text(DUE),
    )
    if op.get_context().dialect.name == "postgresql":
        op.execute("alter table chatwoot_outbox enable row level security")
        op.execute(occ_apply.occ_table(AFTER))


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(occ_apply.occ_table(BEFORE))
    op.drop_index("chatwoot_outbox_due_idx", "chatwoot_outbox")
    op.drop_index("chatwoot_outbox_subject_idx", "chatwoot_outbox")
    op.drop_table("chatwoot_outbox")
    for column in (
        "resolution_notes",
        "resolution_reply",
        "resolution_amount_usd",
        "resolution_summary",
        "resolution_outcome",
    ):
        op.drop_column("escalations", column)
