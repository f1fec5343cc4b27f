"""An index for the recent decisions each draft learns from.

Revision ID: 0012_decided_index
Revises: 0011_inbound_messages
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_decided_index"
down_revision = "0011_inbound_messages"
branch_labels = None
depends_on = None

DECIDED = "decided_at is not null"


def upgrade() -> None:
    op.create_index(
        "drafts_decided_idx",
        "drafts",
        ["decided_at"],
        postgresql_where=sa.text(DECIDED),
        sqlite_where=sa.text(DECIDED),
    )


def downgrade() -> None:
    op.drop_index("drafts_decided_idx", "drafts")
