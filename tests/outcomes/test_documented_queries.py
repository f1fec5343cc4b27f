"""The escalation queries in docs/interface.md, run on PostgreSQL against a log whose numbers are
known by hand."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg

from bot.domain import Action, LogEntry, Outcome, Scope
from bot.store import open_store

INTERFACE = Path(__file__).parents[2] / "docs" / "interface.md"
DAY1 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1)


def readme_queries() -> list[str]:
    section = INTERFACE.read_text().split("### Escalation numbers from the log", 1)[1]
    section = section.split("\n## ", 1)[0]
    return re.findall(r"```sql\n(.*?)```", section, flags=re.S)


def row(action: Action, at: datetime, outcome: Outcome = Outcome.SUCCESS, **payload) -> LogEntry:
    return LogEntry(
        id=f"log-{uuid.uuid4().hex}",
        created_at=at,
        actor="U0OPERATOR1",
        action=action,
        scope=Scope.CX,
        subject_id="d-1",
        conversation_id=101,
        payload=payload,
        outcome=outcome,
    )


async def test_the_readme_queries_give_the_numbers_of_a_known_log(postgres_url):
    store = open_store(postgres_url, None, None)
    await store.migrate()
    day1 = (
        [Action.DRAFT_APPROVED] * 6
        + [Action.DRAFT_EDITED] * 2
        + [Action.DRAFT_REJECTED]
        + [Action.DRAFT_ESCALATED]
    )
    day2 = [Action.DRAFT_APPROVED] * 3 + [Action.DRAFT_ESCALATED]
    entries = [row(a, DAY1) for a in day1] + [row(a, DAY2) for a in day2]
    entries += [
        row(Action.DRAFT_REFUSED, DAY1, Outcome.REFUSED),  # not a decision
        row(Action.DRAFT_ESCALATED, DAY2, Outcome.REFUSED),  # refused: not counted
    ]
    waits = [300, 600, 900, 1200, 3000]  # seconds; the SLA was 15 minutes
    entries += [
        row(Action.ESCALATION_CLAIMED, DAY1, waited_seconds=w, within_sla=w <= 900) for w in waits
    ]
    entries += [row(Action.ESCALATION_REMINDED, DAY1, reminder=n) for n in (1, 2, 3)]
    entries += [
        row(Action.ESCALATION_REMINDED, DAY2, Outcome.RETRY, reminder=1),
        row(Action.ESCALATION_REMINDED, DAY2, reminder=1),
        row(Action.ESCALATION_STEPPED_UP, DAY1),
    ]
    for entry in entries:
        await store.log(entry)
    await store.close()
    rates, claims, reminders = readme_queries()

    with psycopg.connect(postgres_url) as conn:
        assert [tuple(r[1:]) for r in conn.execute(rates).fetchall()] == [
            (1, 10, Decimal("10.0")),
            (1, 4, Decimal("25.0")),
        ]
        # median of 5, 10, 15, 20, 50 minutes is 15; p90 interpolates 20 → 50 at 0.6: 38
        assert conn.execute(claims).fetchone() == (Decimal("15.0"), Decimal("38.0"), 5, 3)
        assert [tuple(r[1:]) for r in conn.execute(reminders).fetchall()] == [(3, 1), (1, 0)]
