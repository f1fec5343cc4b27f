"""Whether Chatwoot vouches for a customer's email address: an email inbox, or a contact
identified by Chatwoot's identity validation. Order facts are only looked up for such an
address.

Revision ID: 0015_verified_email
Revises: 0014_training
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_verified_email"
down_revision = "0014_training"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "inbound_messages",
        sa.Column("customer_email_verified", sa.Boolean, nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("inbound_messages", "customer_email_verified")
