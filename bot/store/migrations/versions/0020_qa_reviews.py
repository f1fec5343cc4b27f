"""QA review: managers' verdicts on sent replies (``qa_reviews``, one per reply, with the
coaching note's direct message to the operator), the review cards that put a reply before a
manager (``qa_review_cards``), and a view of the team's decisions by the confidence band of
the draft decided (``occ_decision_bands``), which the weekly digest's calibration counts.

Revision ID: 0020_qa_reviews
Revises: 0019_chatwoot_assignees
"""

from __future__ import annotations

from alembic import op

from bot.store.migrations import occ_apply, tables
from bot.store.qa_reviews import qa_review_cards_table, qa_reviews_table

revision = "0020_qa_reviews"
down_revision = "0019_chatwoot_assignees"
branch_labels = None
depends_on = None

# The tables occ_apply may write (see 0016): before this revision (0019's), and after it.
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
)
AFTER = (*BEFORE, "qa_reviews", "qa_review_cards")
NEW_TABLES = ("qa_reviews", "qa_review_cards")
VIEW = "occ_decision_bands"

FIGURES = "scope = 'cx' and outcome = 'success'"
DECISIONS = "('draft.approved', 'draft.edited', 'draft.rejected', 'draft.escalated')"
# Mark Resolved on a CX breach card is logged as a rejection but judges no draft.
RESOLVED = "('customer_confirmed', 'documented_elsewhere')"


def _json(postgres: bool, key: str) -> str:
    return f"(payload->>'{key}')" if postgres else f"json_extract(payload, '$.{key}')"


def _view(postgres: bool) -> str:
    return (
        f"select created_at, action, {_json(postgres, 'band')} as band from decision_log "
        f"where {FIGURES} and action in {DECISIONS} "
        f"and coalesce({_json(postgres, 'reason')}, '') not in {RESOLVED}"
    )


def _invoker_views() -> bool:
    """Views read decision_log as their caller (row-level security applies) on PostgreSQL 15
    and later, and always in Supabase's SQL files (as 0013)."""
    context = op.get_context()
    if context.as_sql:
        return True
    version = context.bind.dialect.server_version_info if context.bind is not None else None
    return version is None or version >= (15,)


def upgrade() -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    tables.create(qa_reviews_table)
    tables.create(qa_review_cards_table)
    options = " with (security_invoker = true)" if postgres and _invoker_views() else ""
    op.execute(f"create view {VIEW}{options} as {_view(postgres)}")
    if postgres:
        for table in NEW_TABLES:
            op.execute(f"alter table {table} enable row level security")
        op.execute(occ_apply.revoke_from_api_roles((*NEW_TABLES, VIEW)))
        op.execute(occ_apply.replace_occ_table(AFTER))


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(occ_apply.replace_occ_table(BEFORE))
    op.execute(f"drop view {VIEW}")
    tables.drop(qa_review_cards_table)
    tables.drop(qa_reviews_table)
