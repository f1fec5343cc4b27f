"""Posting Slack messages once: recording is fenced by the post lease, and permanent refusals
park a message. The store contract, on SQLite, PostgreSQL and Supabase's REST API."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain import Action, Scope, SlackRef
from bot.store import NotFound, Store
from bot.store.posts import PARK_AFTER_REFUSALS
from tests.store.helpers import LEASE, T0, actions, entry, escalated_draft, stored_draft

pytest_plugins = ["tests.store_fixtures"]

LATER = T0 + timedelta(minutes=6)  # the first lease has run out


async def test_only_the_poster_holding_the_lease_records_the_card(store: Store) -> None:
    await stored_draft(store, "d-1")
    first = T0 + LEASE
    await store.claim_card_post("d-1", now=T0, lease_until=first)
    second = LATER + LEASE
    assert await store.claim_card_post("d-1", now=LATER, lease_until=second) is not None

    late = await store.set_card(
        "d-1", SlackRef("C1", "1.1"), LATER, entry("d-1", Action.DRAFT_POSTED), lease_until=first
    )
    holder = await store.set_card(
        "d-1", SlackRef("C1", "2.2"), LATER, entry("d-1", Action.DRAFT_POSTED), lease_until=second
    )
    again = await store.set_card(
        "d-1", SlackRef("C1", "3.3"), LATER, entry("d-1", Action.DRAFT_POSTED), lease_until=second
    )

    assert late is None and again is None
    assert holder is not None and holder.card == SlackRef("C1", "2.2")
    assert (await store.get_draft("d-1")).card == SlackRef("C1", "2.2")
    assert await actions(store, "d-1") == ["draft.received", "draft.posted"]
    with pytest.raises(NotFound):
        await store.set_card("nope", SlackRef("C1", "1"), T0, entry("nope"), lease_until=first)


async def test_only_the_poster_holding_the_lease_records_the_escalation_message(
    store: Store,
) -> None:
    escalation = await escalated_draft(store, "d-1")
    first = T0 + LEASE
    await store.claim_escalation_post(escalation.id, now=T0, lease_until=first)
    second = LATER + LEASE
    await store.claim_escalation_post(escalation.id, now=LATER, lease_until=second)

    late = await store.set_escalation_message(
        escalation.id, SlackRef("C2", "1.1"), entry(escalation.id), lease_until=first
    )
    holder = await store.set_escalation_message(
        escalation.id, SlackRef("C2", "2.2"), entry(escalation.id), lease_until=second
    )

    assert late is None
    assert holder is not None and holder.message == SlackRef("C2", "2.2")


async def test_refusals_park_a_card_until_it_is_offered_again(store: Store) -> None:
    await stored_draft(store, "d-1")
    await stored_draft(store, "d-2")
    counts = []
    now = T0
    for _ in range(PARK_AFTER_REFUSALS):
        lease = now + LEASE
        assert await store.claim_card_post("d-1", now=now, lease_until=lease) is not None
        counts.append(await store.refuse_card_post("d-1", lease_until=lease, log=entry("d-1")))
        now = lease + timedelta(seconds=1)

    assert counts == list(range(1, PARK_AFTER_REFUSALS + 1))
    assert await store.unposted_drafts(now) == ["d-2"]
    assert await store.claim_card_post("d-1", now=now, lease_until=now + LEASE) is None
    assert await store.refuse_card_post("d-1", lease_until=T0, log=entry("d-1")) is None

    await store.unpark_cards(Scope.TRAINING)  # another channel's cards
    assert await store.unposted_drafts(now) == ["d-2"]
    await store.unpark_cards(Scope.CX)

    assert await store.unposted_drafts(now) == ["d-1", "d-2"]


async def test_refusals_park_an_escalation_message_too(store: Store) -> None:
    escalation = await escalated_draft(store, "d-1")
    now = T0
    for _ in range(PARK_AFTER_REFUSALS):
        lease = now + LEASE
        await store.claim_escalation_post(escalation.id, now=now, lease_until=lease)
        await store.refuse_message_post(escalation.id, lease_until=lease, log=entry(escalation.id))
        now = lease + timedelta(seconds=1)

    assert await store.unposted_escalations(now) == []
    await store.unpark_messages()
    assert await store.unposted_escalations(now) == [escalation.id]
