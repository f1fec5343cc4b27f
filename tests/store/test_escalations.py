"""Escalations: manager messages, claims and resolutions, on every backend."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.domain import (
    Action,
    EscalationState,
    SlackRef,
)
from bot.store import NotFound, Store
from tests.store.helpers import (
    T0,
    entry,
    escalated_draft,
)

pytest_plugins = ["tests.store_fixtures"]


async def test_escalation_message_location_is_stored(store: Store) -> None:
    escalation = await escalated_draft(store, "d-1")
    message = SlackRef(channel="C0ESCALATIONS", ts="1710408700.000200")

    updated = await store.set_escalation_message(
        escalation.id, message, entry(escalation.id, Action.ESCALATION_POSTED)
    )

    assert updated.message == message
    assert await store.get_escalation(escalation.id) == updated
    with pytest.raises(NotFound):
        await store.set_escalation_message("nope", message, entry("nope"))


async def test_only_one_concurrent_escalation_claim_wins(store: Store) -> None:
    escalation = await escalated_draft(store, "d-1")
    remind_at = T0 + timedelta(minutes=30)

    results = await asyncio.gather(
        *(
            store.claim_escalation(
                escalation.id,
                actor=f"UMGR{n}",
                now=T0,
                next_reminder_at=remind_at,
                log=entry(escalation.id, Action.ESCALATION_CLAIMED, actor=f"UMGR{n}"),
            )
            for n in range(10)
        )
    )

    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    claimed = winners[0]
    assert claimed.state is EscalationState.CLAIMED
    assert claimed.claimed_at == T0
    assert claimed.next_reminder_at == remind_at
    claims = await store.entries(subject_id=escalation.id)
    assert [e.actor for e in claims] == [claimed.claimed_by]


async def test_escalation_resolves_once_from_open_or_claimed(store: Store) -> None:
    open_one = await escalated_draft(store, "d-open")
    claimed_one = await escalated_draft(store, "d-claimed")
    await store.claim_escalation(
        claimed_one.id, actor="UMGR", now=T0, next_reminder_at=None, log=entry(claimed_one.id)
    )
    later = T0 + timedelta(minutes=20)

    for escalation in (open_one, claimed_one):
        resolved = await store.resolve_escalation(
            escalation.id, actor="UMGR", now=later, log=entry(escalation.id)
        )
        assert resolved is not None
        assert (resolved.state, resolved.resolved_by, resolved.resolved_at) == (
            EscalationState.RESOLVED,
            "UMGR",
            later,
        )
        again = await store.resolve_escalation(
            escalation.id, actor="UOTHER", now=later, log=entry(escalation.id)
        )
        assert again is None
    assert (
        await store.claim_escalation(
            open_one.id, actor="UMGR", now=later, next_reminder_at=None, log=entry(open_one.id)
        )
        is None
    )
