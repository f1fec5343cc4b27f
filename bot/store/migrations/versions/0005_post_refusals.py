"""How often Slack refused a card or an escalation message for good (channel_not_found,
not_in_channel, is_archived): after a few such refusals the message waits (is "parked")
instead of being retried, and one reliability alert says so.

Revision ID: 0005_post_refusals
Revises: 0004_rest_transactions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_post_refusals"
down_revision = "0004_rest_transactions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "drafts", sa.Column("card_refusals", sa.Integer, nullable=False, server_default="0")
    )
    op.add_column(
        "escalations",
        sa.Column("message_refusals", sa.Integer, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_column("escalations", "message_refusals")
    op.drop_column("drafts", "card_refusals")
