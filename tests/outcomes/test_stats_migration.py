"""Migration 0013 fills the time-to-decide column from the decisions logged before it, on
SQLite and on PostgreSQL, so the team's numbers cover the whole log."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from bot.store import migrate

BEFORE = "0012_decided_index"
ROWS = """
insert into decision_log (id, created_at, actor, action, scope, subject_id, payload, outcome)
values
  ('l1', :at, 'U0A', 'draft.approved', 'cx', 'd1', :timed, 'success'),
  ('l2', :at, 'U0A', 'draft.edited', 'cx', 'd2', :text, 'success'),
  ('l3', :at, 'system', 'draft.received', 'cx', 'd3', :empty, 'success')
"""


@pytest.mark.parametrize("flavour", ["sqlite", "postgres"])
def test_the_time_to_decide_is_filled_in_for_decisions_logged_before(
    flavour, tmp_path, postgres_url
):
    url = f"sqlite:///{tmp_path}/occ.db" if flavour == "sqlite" else postgres_url
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    at = "2026-11-30T10:00:00.000000Z" if flavour == "sqlite" else "2026-11-30 10:00:00+00"
    try:
        with engine.begin() as connection:
            cfg = migrate.config()
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, BEFORE)
            connection.execute(
                text(ROWS),
                {
                    "at": at,
                    "timed": '{"waited_seconds": 75.5}',
                    "text": '{"waited_seconds": "soon"}',  # not a number: left empty
                    "empty": "{}",
                },
            )
            assert migrate.upgrade(connection)[0] == "0013_stats_views"
            found = connection.execute(
                text("select action, waited_seconds from occ_decision_times order by action")
            ).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in found] == [("draft.approved", 75.5), ("draft.edited", None)]
