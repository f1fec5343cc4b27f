"""The escalation chain's levels and when the next reminder falls due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.rules.chain import Level, LevelKind, level_index, next_reminder_at, parse_chain
from bot.rules.sla import sla_verdict

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def test_the_chain_reads_every_kind_of_level():
    assert parse_chain("managers, U0LEAD,S0LEADS, #occ-leadership,C0123ABC") == (
        Level(LevelKind.MANAGERS),
        Level(LevelKind.USER, "U0LEAD"),
        Level(LevelKind.GROUP, "S0LEADS"),
        Level(LevelKind.CHANNEL, "#occ-leadership"),
        Level(LevelKind.CHANNEL, "C0123ABC"),
    )


@pytest.mark.parametrize("value", ["", "managers,boss", "#Leadership", "U1"])
def test_a_chain_entry_that_is_nothing_slack_knows_is_refused(value):
    with pytest.raises(ValueError):
        parse_chain(value)


def test_each_level_gets_its_reminders_then_the_last_keeps_them():
    levels = [level_index(n, per_level=2, levels=3) for n in range(1, 9)]
    assert levels == [0, 0, 1, 1, 2, 2, 2, 2]
    assert [level_index(n, per_level=1, levels=1) for n in (1, 5)] == [0, 0]


def test_the_next_reminder_is_one_period_after_the_last_due_time():
    assert next_reminder_at(T0, 15, now=T0 + timedelta(seconds=20)) == T0 + timedelta(minutes=15)


def test_due_times_missed_while_stopped_become_one_reminder_then_a_full_period():
    now = T0 + timedelta(minutes=50)
    assert next_reminder_at(T0, 15, now=now) == now + timedelta(minutes=15)


def test_a_claim_says_whether_it_came_within_the_sla():
    assert sla_verdict(T0, due_at=T0) == "within SLA"
    assert sla_verdict(T0 + timedelta(seconds=20), due_at=T0) == "1 min past SLA"
    assert sla_verdict(T0 + timedelta(minutes=7, seconds=10), due_at=T0) == "7 min past SLA"
