"""Conversations as people work on them in Chatwoot: who each is assigned to, and the last time
a person answered or resolved it there, each kept only forward (Chatwoot's deliveries can
cross), an assignment with its log rows in one transaction. On SQLite, PostgreSQL and
Supabase's REST API."""

from __future__ import annotations

from datetime import timedelta

from bot.domain import Action, Assignee, ConversationInChatwoot, RetiredBecause, Retirement
from bot.store import Store
from tests.store.helpers import T0, actions, entry, stored_draft

pytest_plugins = ["tests.store_fixtures"]

DANA = Assignee(agent_id=3, name="Dana", since=T0)
SAM = Assignee(agent_id=4, name="Sam", since=T0 + timedelta(minutes=5))


def assigned(draft_id: str, who: Assignee | None) -> object:
    return entry(draft_id, Action.DRAFT_ASSIGNED, payload={"assignee": who and who.name})


async def test_a_conversation_never_seen_has_no_assignee(store: Store) -> None:
    assert await store.conversation_in_chatwoot(101) == ConversationInChatwoot(101)


async def test_an_assignment_is_kept_with_its_log_rows(store: Store) -> None:
    await stored_draft(store, "d-1")

    assert await store.record_assignee(101, DANA, at=DANA.since, logs=[assigned("d-1", DANA)])

    assert (await store.conversation_in_chatwoot(101)).assignee == DANA
    assert await actions(store, "d-1") == ["draft.received", "draft.assigned"]


async def test_only_a_newer_change_is_kept(store: Store) -> None:
    await stored_draft(store, "d-1")
    await store.record_assignee(101, SAM, at=SAM.since)

    # An older delivery, and the same one again: nothing written, not even their log rows.
    assert not await store.record_assignee(101, DANA, at=DANA.since, logs=[assigned("d-1", DANA)])
    assert not await store.record_assignee(101, SAM, at=SAM.since, logs=[assigned("d-1", SAM)])
    assert (await store.conversation_in_chatwoot(101)).assignee == SAM
    assert await actions(store, "d-1") == ["draft.received"]

    later = T0 + timedelta(minutes=9)
    assert await store.record_assignee(101, None, at=later, logs=[assigned("d-1", None)])
    assert await store.conversation_in_chatwoot(101) == ConversationInChatwoot(101)
    assert await actions(store, "d-1") == ["draft.received", "draft.assigned"]


async def test_each_conversation_is_its_own(store: Store) -> None:
    await store.record_assignee(101, DANA, at=DANA.since)
    await store.record_assignee(202, SAM, at=SAM.since)

    assert (await store.conversation_in_chatwoot(101)).assignee == DANA
    assert (await store.conversation_in_chatwoot(202)).assignee == SAM


async def test_the_last_work_done_in_chatwoot_is_kept_only_forward(store: Store) -> None:
    answered = Retirement(RetiredBecause.ANSWERED, T0 + timedelta(minutes=3), by="Dana")
    resolved = Retirement(RetiredBecause.RESOLVED, T0 + timedelta(minutes=7))
    await store.record_assignee(101, DANA, at=DANA.since)  # the row exists already

    assert await store.record_done_in_chatwoot(101, resolved)
    assert not await store.record_done_in_chatwoot(101, answered)  # older: a late delivery

    kept = await store.conversation_in_chatwoot(101)
    assert (kept.assignee, kept.done) == (DANA, resolved)
    assert await store.record_done_in_chatwoot(202, answered)  # a conversation new to it
    assert (await store.conversation_in_chatwoot(202)).done == answered
