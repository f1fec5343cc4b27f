"""Training mode: a draft can be a training card (one scenario of the packet, for one
trainee), and the training rows of the decision log are found by an index of their own.

Revision ID: 0014_training
Revises: 0013_stats_views
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_training"
down_revision = "0013_stats_views"
branch_labels = None
depends_on = None

TRAINEE = "trainee is not null"
TRAINING = "scope = 'training'"


def upgrade() -> None:
    op.add_column("drafts", sa.Column("scope", sa.Text, nullable=False, server_default="cx"))
    op.add_column("drafts", sa.Column("trainee", sa.Text))
    op.add_column("drafts", sa.Column("training_round", sa.Text))
    op.add_column("drafts", sa.Column("scenario", sa.Text))
    op.create_index(
        "drafts_trainee_idx",
        "drafts",
        ["trainee", "received_at"],
        postgresql_where=sa.text(TRAINEE),
        sqlite_where=sa.text(TRAINEE),
    )
    op.create_index(
        "decision_log_training_idx",
        "decision_log",
        ["created_at", "seq"],
        postgresql_where=sa.text(TRAINING),
        sqlite_where=sa.text(TRAINING),
    )


def downgrade() -> None:
    op.drop_index("decision_log_training_idx", "decision_log")
    op.drop_index("drafts_trainee_idx", "drafts")
    for column in ("scenario", "training_round", "trainee", "scope"):
        op.drop_column("drafts", column)
