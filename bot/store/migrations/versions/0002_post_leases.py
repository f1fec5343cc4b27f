"""Leases for posting Slack messages.

A draft whose card (or an escalation whose manager message) failed to post keeps no Slack
reference; a scheduled job reposts it, and the lease lets only one replica post at a time.

Revision ID: 0002_post_leases
Revises: 0001_init
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.columns import UtcDateTime

revision = "0002_post_leases"
down_revision = "0001_init"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("drafts", sa.Column("card_lease_until", UtcDateTime))
    op.add_column("escalations", sa.Column("message_lease_until", UtcDateTime))
    op.create_index(
        "drafts_unposted_idx",
        "drafts",
        ["received_at"],
        postgresql_where=sa.text("card_channel is null and state = 'pending'"),
        sqlite_where=sa.text("card_channel is null and state = 'pending'"),
    )
    op.create_index(
        "escalations_unposted_idx",
        "escalations",
        ["created_at"],
        postgresql_where=sa.text("message_channel is null and state in ('open', 'claimed')"),
        sqlite_where=sa.text("message_channel is null and state in ('open', 'claimed')"),
    )


def downgrade() -> None:
    op.drop_index("escalations_unposted_idx", "escalations")
    op.drop_index("drafts_unposted_idx", "drafts")
    op.drop_column("escalations", "message_lease_until")
    op.drop_column("drafts", "card_lease_until")
