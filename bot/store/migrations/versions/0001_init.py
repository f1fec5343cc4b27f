"""Drafts, escalations and the decision log.

Revision ID: 0001_init
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.columns import Json, UtcDateTime

revision = "0001_init"
down_revision = None
branch_labels = None
depends_on = None


def _one_of(table: str, column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    listed = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} in ({listed})", name=op.f(f"{table}_{column}_check"))


def _json_checks(table: str, *columns: str) -> list[sa.CheckConstraint]:
    """SQLite stores JSON as text: make it refuse text that is not JSON."""
    if op.get_context().dialect.name != "sqlite":
        return []
    return [
        sa.CheckConstraint(f"json_valid({column})", name=op.f(f"{table}_{column}_json"))
        for column in columns
    ]


def upgrade() -> None:
    sqlite = op.get_context().dialect.name == "sqlite"
    op.create_table(
        "drafts",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("external_id", sa.Text, unique=True),
        sa.Column("conversation_id", sa.BigInteger, nullable=False),
        sa.Column("input", Json, nullable=False),
        sa.Column("flags", Json, nullable=False, server_default=sa.text("'[]'")),
        sa.Column("received_at", UtcDateTime, nullable=False),
        sa.Column("state", sa.Text, nullable=False, server_default="pending"),
        sa.Column("card_channel", sa.Text),
        sa.Column("card_ts", sa.Text),
        sa.Column("posted_at", UtcDateTime),
        sa.Column("decision_kind", sa.Text),
        sa.Column("decided_by", sa.Text),
        sa.Column("decided_at", UtcDateTime),
        sa.Column("final_text", sa.Text),
        sa.Column("reject_reason", sa.Text),
        sa.Column("decision_notes", sa.Text),
        sa.Column("escalation_id", sa.Text),
        sa.Column("reply_status", sa.Text, nullable=False, server_default="none"),
        sa.Column("reply_attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("reply_next_attempt_at", UtcDateTime),
        sa.Column("reply_last_error", sa.Text),
        sa.Column("reply_message_id", sa.Text),
        sa.Column("reply_sent_at", UtcDateTime),
        sa.Column("reply_lease_until", UtcDateTime),
        _one_of("drafts", "state", ("pending", "approved", "rejected", "escalated")),
        _one_of("drafts", "decision_kind", ("approve", "edit", "reject", "escalate")),
        _one_of(
            "drafts",
            "reply_status",
            ("none", "queued", "sending", "sent", "recorded", "failed", "gave_up"),
        ),
        *_json_checks("drafts", "input", "flags"),
    )
    op.create_index(
        "drafts_reply_due_idx",
        "drafts",
        ["received_at"],
        postgresql_where=sa.text("reply_status in ('queued', 'failed', 'sending')"),
        sqlite_where=sa.text("reply_status in ('queued', 'failed', 'sending')"),
    )
    op.create_index("drafts_conversation_idx", "drafts", ["conversation_id"])

    op.create_table(
        "escalations",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("draft_id", sa.Text, sa.ForeignKey("drafts.id"), nullable=False, unique=True),
        sa.Column("conversation_id", sa.BigInteger),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("urgency", sa.Text, nullable=False),
        sa.Column("notes", sa.Text, nullable=False, server_default=""),
        sa.Column("escalated_by", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("due_at", UtcDateTime, nullable=False),
        sa.Column("state", sa.Text, nullable=False, server_default="open"),
        sa.Column("message_channel", sa.Text),
        sa.Column("message_ts", sa.Text),
        sa.Column("claimed_by", sa.Text),
        sa.Column("claimed_at", UtcDateTime),
        sa.Column("resolved_by", sa.Text),
        sa.Column("resolved_at", UtcDateTime),
        sa.Column("reminders_sent", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_reminder_at", UtcDateTime),
        _one_of("escalations", "urgency", ("urgent", "high", "normal")),
        _one_of("escalations", "state", ("open", "claimed", "resolved")),
    )
    op.create_index(
        "escalations_open_due_idx",
        "escalations",
        ["due_at"],
        postgresql_where=sa.text("state = 'open'"),
        sqlite_where=sa.text("state = 'open'"),
    )

    # seq numbers rows as they arrive (the tie-break for equal created_at): an identity
    # column on PostgreSQL, SQLite's autoincrementing rowid there.
    if sqlite:
        keys = [
            sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("id", sa.Text, nullable=False, unique=True),
        ]
    else:
        keys = [
            sa.Column("id", sa.Text, primary_key=True),
            sa.Column("seq", sa.BigInteger, sa.Identity(always=True)),
        ]
    op.create_table(
        "decision_log",
        *keys,
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("subject_id", sa.Text, nullable=False),
        sa.Column("conversation_id", sa.BigInteger),
        sa.Column("payload", Json, nullable=False, server_default=sa.text("'{}'")),
        sa.Column("outcome", sa.Text, nullable=False),
        _one_of("decision_log", "scope", ("cx", "sales", "reliability", "training")),
        _one_of("decision_log", "outcome", ("success", "retry", "failed", "timeout", "refused")),
        *_json_checks("decision_log", "payload"),
        sqlite_autoincrement=True,
    )
    op.create_index("decision_log_created_idx", "decision_log", ["created_at", "seq"])
    op.create_index("decision_log_subject_idx", "decision_log", ["subject_id", "created_at", "seq"])

    if not sqlite:
        # Supabase: row level security on, with no policies, so only the service role (which
        # bypasses RLS) and the owner can read or write; the public anon key cannot.
        for table in ("alembic_version", "drafts", "escalations", "decision_log"):
            op.execute(f"alter table {table} enable row level security")


def downgrade() -> None:
    for table in ("decision_log", "escalations", "drafts"):
        op.drop_table(table)
