"""The team's numbers in SQL: a view per figure over decision_log, and the indexes they read.

Revision ID: 0013_stats_views
Revises: 0012_decided_index
"""

from __future__ import annotations

from alembic import op

revision = "0013_stats_views"
down_revision = "0012_decided_index"
branch_labels = None
depends_on = None

DECISIONS = "('draft.approved', 'draft.edited', 'draft.rejected', 'draft.escalated')"


def _views(postgres: bool) -> dict[str, str]:
    def number(key: str) -> str:
        if postgres:
            return f"(payload->>'{key}')::double precision"
        return f"json_extract(payload, '$.{key}')"

    def flag(key: str) -> str:
        if postgres:
            return f"case when (payload->>'{key}')::boolean then 1 else 0 end"
        return f"case when json_extract(payload, '$.{key}') then 1 else 0 end"

    return {
        "occ_decision_times": (
            f"select created_at, actor, action, {number('waited_seconds')} as waited_seconds "
            f"from decision_log where scope = 'cx' and outcome = 'success' "
            f"and action in {DECISIONS}"
        ),
        "occ_claims": (
            f"select created_at, actor, {flag('within_sla')} as within_sla from decision_log "
            "where scope = 'cx' and outcome = 'success' and action = 'escalation.claimed'"
        ),
        "occ_breaches": (
            "select created_at from decision_log where scope = 'cx' and action = 'cx.sla_breached'"
        ),
    }


def upgrade() -> None:
    op.create_index("decision_log_action_idx", "decision_log", ["action", "created_at"])
    op.create_index("decision_log_actor_idx", "decision_log", ["actor", "action", "created_at"])
    postgres = op.get_context().dialect.name == "postgresql"
    # security_invoker: on Supabase a view would otherwise read decision_log as its owner,
    # past the row-level security that keeps the anon key out.
    options = " with (security_invoker = true)" if postgres else ""
    for name, body in _views(postgres).items():
        op.execute(f"create view {name}{options} as {body}")


def downgrade() -> None:
    for name in _views(False):
        op.execute(f"drop view {name}")
    op.drop_index("decision_log_actor_idx", "decision_log")
    op.drop_index("decision_log_action_idx", "decision_log")
