"""A replica decides a draft it has seen pending without reading it first; the database's
compare-and-set still decides, so a copy another replica has decided since sends nothing. (A
card superseded after it was posted: tests/drafting/test_e2e_drafting_queue.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from bot.blocks.ids import ActionId
from bot.domain import DraftState
from tests.harness import OPERATOR, SECOND_OPERATOR, BotUnderTest, settings_for


@contextmanager
def statements_run() -> Iterator[list[str]]:
    """The SQL every engine of this process sends meanwhile, in order."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.lower().split()))

    event.listen(Engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", note)


def on_drafts(statements: list[str]) -> list[str]:
    return [s for s in statements if "drafts" in s]


async def test_an_approval_on_a_card_this_replica_posted_decides_without_reading_the_draft(
    pg_bot: BotUnderTest, chatwoot, scenarios
):
    payload = scenarios["demo-1-order-status"].payload
    draft = await pg_bot.posted_draft(payload)

    with statements_run() as statements:
        response = await pg_bot.click(ActionId.APPROVE, draft, OPERATOR)
        await pg_bot.settle()

    assert response.status_code == 200
    assert [r["content"] for r in chatwoot.sent_replies(payload["conversation_id"])] == [
        payload["draft"]
    ]
    touched = on_drafts(statements)
    assert touched, statements
    assert touched[0].startswith("with written as (update drafts set state="), touched
    assert await pg_bot.actions(draft.id) == [
        "draft.received",
        "draft.posted",
        "draft.approved",
        "reply.sent",
    ]


async def test_a_card_decided_on_another_replica_is_refused_where_it_was_seen_pending(
    postgres_url, slack, chatwoot, clock, scenarios
):
    a, b = [
        await BotUnderTest(settings_for(postgres_url, slack, chatwoot), clock).start()
        for _ in range(2)
    ]
    try:
        payload = scenarios["demo-1-order-status"].payload
        draft = await a.posted_draft(payload)  # a saw it pending when it posted its card
        await b.submit_reject(draft.id, SECOND_OPERATOR, "wrong_tone")
        await b.settle()

        response = await a.click(ActionId.APPROVE, draft, OPERATOR)
        await a.settle()

        assert response.status_code == 200
        assert chatwoot.sent_replies(payload["conversation_id"]) == []
        stored = await a.store.get_draft(draft.id)
        assert stored.state is DraftState.REJECTED
        assert stored.decision.actor == SECOND_OPERATOR
        actions = await a.actions(draft.id)
        assert actions.count("draft.rejected") == 1
        assert "draft.approved" not in actions and "reply.sent" not in actions
        told = [e["text"] for e in slack.ephemerals(OPERATOR)]
        assert len(told) == 1
        assert f"<@{SECOND_OPERATOR}> already rejected this draft" in told[0]

        # Clicked again there: refused again, still nothing sent.
        await a.click(ActionId.APPROVE, draft, OPERATOR)
        await a.settle()
        assert chatwoot.sent_replies(payload["conversation_id"]) == []
        assert len(slack.ephemerals(OPERATOR)) == 2
    finally:
        await a.stop()
        await b.stop()


async def test_a_card_retired_in_chatwoot_is_no_longer_kept_as_seen_pending(
    pg_bot: BotUnderTest, chatwoot, scenarios
):
    payload = scenarios["demo-1-order-status"].payload
    chatwoot.add_incoming(payload["conversation_id"], payload["customer_message"])
    draft = await pg_bot.posted_draft(payload)
    kept = pg_bot.services.pending_drafts
    assert kept.get(draft.id) is not None

    resolved = chatwoot.resolved_event(draft.input.conversation_id)
    assert (await pg_bot.chatwoot_event(resolved)).status_code == 200
    await pg_bot.settle()

    assert (await pg_bot.store.get_draft(draft.id)).state is DraftState.RETIRED
    assert kept.get(draft.id) is None and len(kept) == 0
