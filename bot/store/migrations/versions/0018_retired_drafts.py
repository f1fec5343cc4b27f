"""Drafts done in Chatwoot: a waiting draft whose customer an agent answered, or whose
conversation was resolved, in Chatwoot itself is retired (when, why, by whom) and can no longer
be decided; like a superseded one, its state stays 'pending'. Two indexes let Chatwoot's
webhooks find the bot's own replies in the outbox: by Chatwoot message id, and by
conversation.

Revision ID: 0018_retired_drafts
Revises: 0017_one_outbox
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.columns import UtcDateTime

revision = "0018_retired_drafts"
down_revision = "0017_one_outbox"
branch_labels = None
depends_on = None

MESSAGE_ID_KNOWN = "delivery_message_id is not null"


def upgrade() -> None:
    # Plain ADD COLUMNs (see 0006): no table rebuild on SQLite, whose CHECK is PostgreSQL's alone.
    op.add_column("drafts", sa.Column("retired_at", UtcDateTime))
    op.add_column("drafts", sa.Column("retired_because", sa.Text))
    op.add_column("drafts", sa.Column("retired_by", sa.Text))
    if op.get_context().dialect.name == "postgresql":
        op.create_check_constraint(
            op.f("drafts_retired_because_check"),
            "drafts",
            "retired_because in ('answered', 'resolved')",
        )
    op.create_index(
        "chatwoot_outbox_conversation_idx", "chatwoot_outbox", ["conversation_id", "created_at"]
    )
    op.create_index(
        "chatwoot_outbox_message_idx",
        "chatwoot_outbox",
        ["delivery_message_id"],
        postgresql_where=sa.text(MESSAGE_ID_KNOWN),
        sqlite_where=sa.text(MESSAGE_ID_KNOWN),
    )


def downgrade() -> None:
    op.drop_index("chatwoot_outbox_message_idx", "chatwoot_outbox")
    op.drop_index("chatwoot_outbox_conversation_idx", "chatwoot_outbox")
    if op.get_context().dialect.name == "postgresql":
        op.drop_constraint(op.f("drafts_retired_because_check"), "drafts")
    for column in ("retired_by", "retired_because", "retired_at"):
        op.drop_column("drafts", column)
