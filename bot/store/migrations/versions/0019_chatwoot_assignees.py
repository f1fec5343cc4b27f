"""Conversations as people work on them in Chatwoot: who each is assigned to there, so that
its cards can say who is on it, and the last time a person answered the customer or resolved
it there, so that a draft stored later, of older messages, is retired too.

Revision ID: 0019_chatwoot_assignees
Revises: 0018_retired_drafts
"""

from __future__ import annotations

from alembic import op

from bot.store.chatwoot_conversations import conversations_table
from bot.store.migrations import occ_apply, tables

revision = "0019_chatwoot_assignees"
down_revision = "0018_retired_drafts"
branch_labels = None
depends_on = None

# The tables occ_apply may write: what 0016 left, and this one's.
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
)
AFTER = (*BEFORE, "chatwoot_conversations")


def upgrade() -> None:
    tables.create(conversations_table)
    if op.get_context().dialect.name == "postgresql":
        op.execute("alter table chatwoot_conversations enable row level security")
        op.execute(occ_apply.revoke_from_api_roles(("chatwoot_conversations",)))
        op.execute(occ_apply.replace_occ_table(AFTER))


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(occ_apply.replace_occ_table(BEFORE))
    tables.drop(conversations_table)
