"""Reminders of unclaimed escalations: taken once per due time, posted once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from bot.domain import (
    Action,
    Escalation,
    Reminder,
    SlackRef,
)
from bot.store import Store
from tests.store.helpers import (
    LEASE,
    T0,
    actions,
    entry,
    escalated_draft,
)

pytest_plugins = ["tests.store_fixtures"]


def reminder(escalation: Escalation, number: int = 1, *, level: int = 0) -> Reminder:
    return Reminder(
        id=f"{escalation.id}/r{number}-{uuid.uuid4().hex[:6]}",
        escalation_id=escalation.id,
        number=number,
        level=level,
        notify="managers",
        due_at=escalation.due_at,
        created_at=T0,
    )


async def test_reminders_fall_due_and_each_round_is_taken_once(store: Store) -> None:
    escalation = await escalated_draft(store, "d-1", due_at=T0)
    await escalated_draft(store, "d-2", due_at=T0 + timedelta(hours=1))
    next_round = T0 + timedelta(minutes=15)

    assert await store.due_reminders(T0 - timedelta(seconds=1)) == []
    assert await store.due_reminders(T0) == [escalation.id]
    results = await asyncio.gather(
        *(
            store.take_reminder(
                reminder(escalation),
                expected_count=0,
                next_reminder_at=next_round,
                logs=(entry(escalation.id, Action.ESCALATION_STEPPED_UP),),
            )
            for _ in range(10)
        )
    )

    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert await store.reminders_of(escalation.id) == winners
    stored = await store.get_escalation(escalation.id)
    assert stored.reminders_sent == 1 and stored.next_reminder_at == next_round
    assert await actions(store, escalation.id) == ["escalation.stepped_up"]
    assert await store.due_reminders(T0 + timedelta(minutes=14)) == []
    assert await store.due_reminders(next_round) == [escalation.id]


async def test_claimed_escalation_gets_no_reminders(store: Store) -> None:
    escalation = await escalated_draft(store, "d-1", due_at=T0)
    claimed = entry(escalation.id, Action.ESCALATION_CLAIMED)
    await store.claim_escalation(
        escalation.id, actor="UMGR", now=T0, next_reminder_at=None, log=claimed
    )

    assert await store.due_reminders(T0 + timedelta(hours=1)) == []
    taken = await store.take_reminder(
        reminder(escalation), expected_count=0, next_reminder_at=T0, logs=(entry(escalation.id),)
    )
    assert taken is None
    assert await store.reminders_of(escalation.id) == []
    assert await actions(store, escalation.id) == ["escalation.claimed"]


async def test_a_taken_reminder_is_posted_once_then_no_longer_offered(store: Store) -> None:
    escalation = await escalated_draft(store, "d-1", due_at=T0)
    taken = await store.take_reminder(
        reminder(escalation), expected_count=0, next_reminder_at=T0 + LEASE
    )
    assert taken is not None
    assert await store.unposted_reminders(T0) == [taken.id]

    claims = await asyncio.gather(
        *(store.claim_reminder_post(taken.id, now=T0, lease_until=T0 + LEASE) for _ in range(8))
    )
    [claim] = [c for c in claims if c is not None]
    assert claim.attempts == 1  # the first post: nothing to look for in Slack
    assert await store.unposted_reminders(T0) == []  # being posted
    message = SlackRef(channel="C0ESC", ts="1700000000.000200")
    late = await store.record_reminder(
        taken.id, message, (entry(escalation.id),), lease_until=T0 + LEASE + LEASE
    )
    assert late is None  # not the lease it holds: nothing recorded
    recorded = await store.record_reminder(
        taken.id,
        message,
        (entry(escalation.id, Action.ESCALATION_REMINDED),),
        lease_until=T0 + LEASE,
    )

    assert recorded is not None and recorded.message == message
    assert await store.get_reminder(taken.id) == recorded
    assert await store.unposted_reminders(T0 + 2 * LEASE) == []
    assert await actions(store, escalation.id) == ["escalation.reminded"]


async def test_an_unposted_reminder_comes_back_after_its_lease_unless_skipped(
    store: Store,
) -> None:
    escalation = await escalated_draft(store, "d-1", due_at=T0)
    first = await store.take_reminder(
        reminder(escalation), expected_count=0, next_reminder_at=T0 + LEASE
    )
    second = await store.take_reminder(
        reminder(escalation, 2), expected_count=1, next_reminder_at=T0 + 2 * LEASE
    )
    assert first is not None and second is not None
    await store.claim_reminder_post(first.id, now=T0, lease_until=T0 + LEASE)

    assert await store.unposted_reminders(T0) == [second.id]
    assert await store.unposted_reminders(T0 + LEASE + timedelta(seconds=1)) == [
        first.id,
        second.id,
    ]
    await store.skip_reminder(first.id, now=T0)
    assert await store.unposted_reminders(T0 + 2 * LEASE) == [second.id]
    later = T0 + 2 * LEASE
    assert await store.claim_reminder_post(first.id, now=later, lease_until=later + LEASE) is None
    again = await store.claim_reminder_post(second.id, now=later, lease_until=later + LEASE)
    assert again is not None and again.attempts == 1
    after = later + 2 * LEASE
    retried = await store.claim_reminder_post(second.id, now=after, lease_until=after + LEASE)
    assert retried is not None and retried.attempts == 2  # an earlier attempt may have posted
