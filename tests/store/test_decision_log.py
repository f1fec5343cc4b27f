"""The decision log: filters, order, paging, JSON and time, on every backend."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest

from bot.domain import (
    Action,
    Scope,
)
from bot.store import Store
from tests.store.helpers import (
    T0,
    entry,
    make_draft,
)

if TYPE_CHECKING:
    from tests.store_fixtures import Backend

pytest_plugins = ["tests.store_fixtures"]


async def test_entries_filter_by_time_and_subject_oldest_first(store: Store) -> None:
    minute = timedelta(minutes=1)
    rows = [
        entry("d-1", at=T0 + 2 * minute, payload={"n": "third"}),
        entry("d-2", at=T0, payload={"n": "first"}),
        entry("d-1", at=T0 + minute, payload={"n": "second-a"}),
        entry("d-2", at=T0 + minute, payload={"n": "second-b"}),
        entry("d-1", at=T0 + 3 * minute, payload={"n": "fourth"}),
    ]
    for row in rows:
        await store.log(row)

    everything = await store.entries()
    window = await store.entries(since=T0 + minute, until=T0 + 3 * minute)
    for_d1 = await store.entries(subject_id="d-1", since=T0 + minute)

    assert [e.payload["n"] for e in everything] == [
        "first",
        "second-a",
        "second-b",
        "third",
        "fourth",
    ]
    assert [e.payload["n"] for e in window] == ["second-a", "second-b", "third"]
    assert [e.payload["n"] for e in for_d1] == ["second-a", "third", "fourth"]
    assert everything[0] == rows[1]


async def test_entries_filter_by_scope_action_and_actor(store: Store) -> None:
    rows = [
        replace(entry("d-1", Action.DRAFT_APPROVED, actor="U0A"), scope=Scope.TRAINING),
        replace(entry("d-2", Action.DRAFT_REJECTED, actor="U0B"), scope=Scope.TRAINING),
        replace(entry("d-3", Action.DRAFT_POSTED, actor="U0A"), scope=Scope.TRAINING),
        entry("d-4", Action.DRAFT_APPROVED, actor="U0A"),
    ]
    for row in rows:
        await store.log(row)

    decisions = (Action.DRAFT_APPROVED, Action.DRAFT_REJECTED)
    training = await store.entries(scope=Scope.TRAINING, actions=decisions)
    theirs = await store.entries(scope=Scope.TRAINING, actions=decisions, actor="U0A")

    assert [e.subject_id for e in training] == ["d-1", "d-2"]
    assert [e.subject_id for e in theirs] == ["d-1"]
    assert [e.subject_id for e in await store.entries(scope=Scope.CX)] == ["d-4"]


async def test_whole_log_is_read_even_past_one_response_page(
    store: Store, backend: Backend
) -> None:
    page = backend.standin.max_rows if backend.standin else 50
    count = page * 2 + 7
    for n in range(count):
        await store.log(entry("d-1", at=T0 + timedelta(seconds=n), payload={"n": n}))

    assert [e.payload["n"] for e in await store.entries()] == list(range(count))


async def test_payload_json_round_trips(store: Store) -> None:
    payload = {
        "before": "Hi Susan! 👋 Your order shipped.",
        "after": "Bonjour Susan — votre commande est partie. 日本語もOK",
        "nested": {"amounts": [450.0, 12.5, 0], "flags": [{"kind": "high_value", "ok": True}]},
        "empty": {},
        "none": None,
        "quote": 'She said "refund" & <left>',
    }
    row = replace(entry("d-1", Action.DRAFT_EDITED, payload=payload), scope=Scope.TRAINING)

    await store.log(row)

    [stored] = await store.entries()
    assert stored == row
    assert stored.action is Action.DRAFT_EDITED


async def test_unknown_action_names_are_kept_as_text(store: Store) -> None:
    await store.log(entry("d-1", "draft.reopened"))

    [stored] = await store.entries()
    assert stored.action == "draft.reopened"


async def test_timestamps_come_back_as_aware_utc(store: Store) -> None:
    kolkata = timezone(timedelta(hours=5, minutes=30))
    local = datetime(2025, 3, 14, 15, 0, 12, 345678, tzinfo=kolkata)
    await store.add_draft(make_draft("d-1", at=local), entry("d-1", at=local))

    draft = await store.get_draft("d-1")
    [logged] = await store.entries()

    for value in (draft.received_at, logged.created_at):
        assert value.utcoffset() == timedelta(0)
        assert value == local
        assert value.microsecond == 345678


async def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="naive"):
        await store.add_draft(make_draft("d-1", at=datetime(2025, 3, 14, 9, 30)), entry("d-1"))
    assert await store.get_draft("d-1") is None
