"""The team's numbers in SQL: a view per figure over decision_log, and an index they are read
from (the time to decide as a column of its own, so that medians come from the index).

Revision ID: 0013_stats_views
Revises: 0012_decided_index
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_stats_views"
down_revision = "0012_decided_index"
branch_labels = None
depends_on = None

FIGURES = "scope = 'cx' and outcome = 'success'"
DECISIONS = "('draft.approved', 'draft.edited', 'draft.rejected', 'draft.escalated')"


def _json(postgres: bool, key: str) -> str:
    return f"(payload->>'{key}')" if postgres else f"json_extract(payload, '$.{key}')"


def _views(postgres: bool) -> dict[str, str]:
    within = _json(postgres, "within_sla")
    within_sla = (
        f"case when {within}::boolean then 1 else 0 end"
        if postgres
        else (f"case when {within} then 1 else 0 end")
    )
    return {
        "occ_decision_times": (
            f"select created_at, actor, action, waited_seconds from decision_log "
            f"where {FIGURES} and action in {DECISIONS}"
        ),
        "occ_claims": (
            f"select created_at, actor, {within_sla} as within_sla from decision_log "
            f"where {FIGURES} and action = 'escalation.claimed'"
        ),
        "occ_breaches": (
            f"select created_at from decision_log where {FIGURES} and action = 'cx.sla_breached'"
        ),
    }


def upgrade() -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    op.add_column("decision_log", sa.Column("waited_seconds", sa.Float))
    waited = _json(postgres, "waited_seconds")
    number = (
        "jsonb_typeof(payload->'waited_seconds') = 'number'"
        if postgres
        else "json_type(payload, '$.waited_seconds') in ('integer', 'real')"
    )
    cast = f"{waited}::double precision" if postgres else waited
    op.execute(f"update decision_log set waited_seconds = {cast} where {number}")
    op.create_index(
        "decision_log_figures_idx",
        "decision_log",
        ["action", "created_at", "actor", "waited_seconds"],
        postgresql_where=sa.text(FIGURES),
        sqlite_where=sa.text(FIGURES),
    )
    op.create_index("decision_log_actor_idx", "decision_log", ["actor", "action", "created_at"])
    # security_invoker: on Supabase a view would otherwise read decision_log as its owner,
    # past the row-level security that keeps the anon key out (PostgreSQL 15 and later;
    # Supabase's SQL files are written for those).
    options = " with (security_invoker = true)" if postgres and _invoker_views() else ""
    for name, body in _views(postgres).items():
        op.execute(f"create view {name}{options} as {body}")


def _invoker_views() -> bool:
    context = op.get_context()
    if context.as_sql:  # writing Supabase's SQL files
        return True
    version = context.bind.dialect.server_version_info if context.bind is not None else None
    return version is None or version >= (15,)


def downgrade() -> None:
    for name in _views(False):
        op.execute(f"drop view {name}")
    op.drop_index("decision_log_actor_idx", "decision_log")
    op.drop_index("decision_log_figures_idx", "decision_log")
    op.drop_column("decision_log", "waited_seconds")
