"""The team's numbers, counted in SQL on every backend."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from bot.domain import (
    Action,
    Scope,
)
from bot.store import Store
from tests.store.helpers import (
    T0,
    entry,
)

pytest_plugins = ["tests.store_fixtures"]


async def test_the_numbers_of_a_window_are_counted_in_sql(store: Store) -> None:
    def at(minutes: float) -> datetime:
        return T0 + timedelta(minutes=minutes)

    rows = [
        (Action.DRAFT_APPROVED, "U0A", {"waited_seconds": 60}, 1),
        (Action.DRAFT_APPROVED, "U0A", {"waited_seconds": 120}, 2),
        (Action.DRAFT_EDITED, "U0A", {"waited_seconds": 300}, 3),
        (Action.DRAFT_REJECTED, "U0B", {"waited_seconds": 30}, 4),
        (Action.DRAFT_ESCALATED, "U0B", {"waited_seconds": 600}, 5),
        (Action.DRAFT_APPROVED, "U0A", {"waited_seconds": 9}, 60 * 25),  # after the window
        (Action.DRAFT_REFUSED, "U0A", {"waited_seconds": 1}, 6),  # no decision
        (Action.ESCALATION_CLAIMED, "U0M", {"within_sla": True}, 7),
        (Action.ESCALATION_CLAIMED, "U0M", {"within_sla": False}, 8),
        (Action.CX_SLA_BREACHED, "system", {"breach": "b-1"}, 9),
        (Action.CX_SLA_BREACHED, "system", {"breach": "b-2"}, 10),
    ]
    for n, (action, actor, payload, minutes) in enumerate(rows):
        await store.log(entry(f"d-{n}", action, at=at(minutes), actor=actor, payload=payload))
    trainee = replace(
        entry("t-1", Action.DRAFT_APPROVED, at=at(11), actor="U0A", payload={"waited_seconds": 5}),
        scope=Scope.TRAINING,
    )
    await store.log(trainee)  # training never counts
    day = {"since": T0, "until": T0 + timedelta(days=1)}

    team = await store.decision_stats(**day)
    alice = await store.decision_stats(**day, actor="U0A")
    empty = await store.decision_stats(since=T0 - timedelta(days=2), until=T0)

    assert (team.approved, team.edited, team.rejected, team.escalated) == (2, 1, 1, 1)
    assert (team.median_seconds, team.p90_seconds) == (120.0, 600.0)  # of 30 60 120 300 600
    assert team.escalation_rate == 0.2
    assert (team.claims, team.claims_within_sla, team.breaches) == (2, 1, 2)
    assert (alice.decisions, alice.median_seconds, alice.p90_seconds) == (3, 120.0, 300.0)
    assert (alice.claims, alice.breaches) == (0, 2)  # breaches are the team's
    assert (empty.decisions, empty.median_seconds, empty.escalation_rate) == (0, None, None)
