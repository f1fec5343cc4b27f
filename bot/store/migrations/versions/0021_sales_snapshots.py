"""The Sales Pulse tile's snapshot: one small row per source, the latest Sales Pulse reading
(aggregates, the oldest unfulfilled orders and a count, the top sellers), which `/occ pulse`
and the Home tab answer from.

Revision ID: 0021_sales_snapshots
Revises: 0020_qa_reviews
"""

from __future__ import annotations

from alembic import op

from bot.store.migrations import occ_apply, tables
from bot.store.sales_snapshots import sales_snapshots_table

revision = "0021_sales_snapshots"
down_revision = "0020_qa_reviews"
branch_labels = None
depends_on = None

# The tables occ_apply may write: as 0020 left them, and with the snapshots.
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
    "inbound_messages",
    "drafting_leases",
    "chatwoot_conversations",
    "qa_reviews",
    "qa_review_cards",
)
AFTER = (*BEFORE, "sales_snapshots")


def upgrade() -> None:
    tables.create(sales_snapshots_table)
    if op.get_context().dialect.name == "postgresql":
        op.execute("alter table sales_snapshots enable row level security")
        op.execute(occ_apply.revoke_from_api_roles(("sales_snapshots",)))
        op.execute(occ_apply.replace_occ_table(AFTER))


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(occ_apply.replace_occ_table(BEFORE))
    tables.drop(sales_snapshots_table)
