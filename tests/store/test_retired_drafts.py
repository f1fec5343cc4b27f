"""Drafts done in Chatwoot: retired once, with a log row each, never decided afterwards. On
SQLite, PostgreSQL and Supabase's REST API."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.domain import (
    Action,
    DraftState,
    RetiredBecause,
    Retirement,
    TrainingCard,
)
from bot.store import Store
from tests.store.helpers import T0, actions, approval, approved_draft, entry, make_draft

pytest_plugins = ["tests.store_fixtures"]

ANSWERED = Retirement(RetiredBecause.ANSWERED, T0 + timedelta(minutes=3), by="Dana")


def retired_entry(draft) -> object:
    return entry(draft.id, Action.DRAFT_RETIRED, payload={"because": "answered"})


async def test_the_conversations_waiting_drafts_are_retired_with_a_log_row_each(
    store: Store,
) -> None:
    for n in range(2):
        await store.add_draft(make_draft(f"d-{n}", at=T0 + timedelta(minutes=n)), entry(f"d-{n}"))

    retired = await store.retire_waiting(101, ANSWERED, retired_entry)

    assert [d.id for d in retired] == ["d-0", "d-1"]
    assert {d.state for d in retired} == {DraftState.RETIRED}
    assert (await store.get_draft("d-0")).retired == ANSWERED
    assert await store.waiting_drafts(10) == []
    assert await actions(store, "d-1") == ["draft.received", "draft.retired"]
    # Its old Approve: the compare-and-set refuses, and nothing is queued to send.
    assert await store.decide("d-0", approval(), log=entry("d-0", Action.DRAFT_APPROVED)) is None
    assert await store.outbox_for("d-0") == []
    assert await store.retire_waiting(101, ANSWERED, retired_entry) == []  # once


async def test_decided_training_and_other_conversations_drafts_are_left_alone(
    store: Store,
) -> None:
    await approved_draft(store, "d-decided")
    practice = replace(make_draft("d-training"), training=TrainingCard("U0T", "r-1", "demo-1"))
    await store.add_draft(practice, entry("d-training"))
    elsewhere = make_draft("d-other")
    elsewhere = replace(elsewhere, input=replace(elsewhere.input, conversation_id=202))
    await store.add_draft(elsewhere, entry("d-other"))

    assert await store.retire_waiting(101, ANSWERED, retired_entry) == []
    assert (await store.get_draft("d-decided")).state is DraftState.APPROVED
    assert (await store.get_draft("d-training")).retired is None
    assert (await store.get_draft("d-other")).state is DraftState.PENDING


async def test_one_draft_of_the_conversation_can_be_retired_alone(store: Store) -> None:
    for n in range(2):
        await store.add_draft(make_draft(f"d-{n}", at=T0 + timedelta(minutes=n)), entry(f"d-{n}"))

    [retired] = await store.retire_waiting(101, ANSWERED, retired_entry, only="d-1")

    assert retired.id == "d-1" and retired.retired == ANSWERED
    assert (await store.get_draft("d-0")).state is DraftState.PENDING
    assert await store.retire_waiting(101, ANSWERED, retired_entry, only="d-1") == []
