"""Drafting off the webhook's path: customers' messages are stored, then drafted under a
per-conversation lease; a newer message's draft supersedes a pending one.

Revision ID: 0011_inbound_messages
Revises: 0010_data_sources
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.columns import UtcDateTime
from bot.store.migrations import occ_apply

revision = "0011_inbound_messages"
down_revision = "0010_data_sources"
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
    "data_sources",
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
    "inbound_messages",
    "drafting_leases",
)
WAITING = "state = 'waiting'"


def upgrade() -> None:
    op.add_column("drafts", sa.Column("superseded_by", sa.Text))
    op.add_column("drafts", sa.Column("superseded_at", UtcDateTime))
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("conversation_id", sa.BigInteger, nullable=False),
        sa.Column("message_id", sa.BigInteger, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("customer_name", sa.Text),
        sa.Column("customer_email", sa.Text),
        sa.Column("received_at", UtcDateTime, nullable=False),
        sa.Column("state", sa.Text, nullable=False, server_default="waiting"),
        sa.Column("draft_id", sa.Text),
        sa.Column("error", sa.Text),
        sa.CheckConstraint(
            "state in ('waiting', 'drafted', 'failed')", name=op.f("inbound_messages_state_check")
        ),
    )
    op.create_index(
        "inbound_messages_conversation_idx", "inbound_messages", ["conversation_id", "message_id"]
    )
    op.create_index(
        "inbound_messages_waiting_idx",
        "inbound_messages",
        ["received_at"],
        postgresql_where=sa.text(WAITING),
        sqlite_where=sa.text(WAITING),
    )
    op.create_table(
        "drafting_leases",
        sa.Column("conversation_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("lease_until", UtcDateTime),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("retry_at", UtcDateTime),
        sa.Column("last_error", sa.Text),
    )
    if op.get_context().dialect.name == "postgresql":
        for table in ("inbound_messages", "drafting_leases"):
            op.execute(f"alter table {table} enable row level security")
        op.execute(occ_apply.occ_table(AFTER))


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(occ_apply.occ_table(BEFORE))
    op.drop_table("drafting_leases")
    op.drop_index("inbound_messages_waiting_idx", "inbound_messages")
    op.drop_index("inbound_messages_conversation_idx", "inbound_messages")
    op.drop_table("inbound_messages")
    op.drop_column("drafts", "superseded_at")
    op.drop_column("drafts", "superseded_by")
