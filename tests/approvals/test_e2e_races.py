"""Many clicks, several replicas, one PostgreSQL database: the customer gets one reply."""

from __future__ import annotations

import asyncio
import itertools

from bot.blocks.ids import ActionId
from bot.domain import DeliveryStatus, DraftState
from tests.harness import MANAGER, OPERATOR, SECOND_OPERATOR, BotUnderTest, settings_for

CLICKS = 24


async def test_concurrent_approve_clicks_on_two_replicas_send_exactly_one_reply(
    postgres_url, slack, chatwoot, clock, scenarios
):
    replicas = [
        await BotUnderTest(settings_for(postgres_url, slack, chatwoot), clock).start()
        for _ in range(2)
    ]
    try:
        payload = scenarios["demo-1-order-status"].payload
        draft = await replicas[0].posted_draft(payload)
        users = itertools.cycle([OPERATOR, SECOND_OPERATOR, MANAGER])
        pairs = zip(itertools.cycle(replicas), users, strict=False)
        clicks = [
            bot.click(ActionId.APPROVE, draft, user)
            for bot, user in itertools.islice(pairs, CLICKS)
        ]

        responses = await asyncio.gather(*clicks)
        for bot in replicas:
            await bot.settle()

        assert [r.status_code for r in responses] == [200] * CLICKS
        assert len(chatwoot.sent_replies(payload["conversation_id"])) == 1
        stored = await replicas[1].store.get_draft(draft.id)
        assert stored.state is DraftState.APPROVED and stored.reply.status is DeliveryStatus.SENT
        entries = await replicas[1].store.entries(subject_id=draft.id)
        assert [str(e.action) for e in entries].count("draft.approved") == 1
        assert [str(e.action) for e in entries].count("reply.sent") == 1
        refused = [e for e in entries if e.outcome == "refused"]
        # Every refused click is counted: 8 clicks per user, the winner's first one won. A
        # user's refused clicks on a replica are one row and one message (who won).
        winner = stored.decision.actor
        per_user = CLICKS // 3
        users = (OPERATOR, SECOND_OPERATOR, MANAGER)
        assert {u: sum(e.payload["clicks"] for e in refused if e.actor == u) for u in users} == {
            u: per_user - 1 if u == winner else per_user for u in users
        }
        notices = slack.ephemerals()
        assert len(notices) == len(refused)
        assert all(f"<@{winner}>" in n["text"] and "already approved" in n["text"] for n in notices)
    finally:
        for bot in replicas:
            await bot.stop()


async def test_approve_and_reject_racing_on_two_replicas_have_one_winner(
    postgres_url, slack, chatwoot, clock, scenarios
):
    a, b = [
        await BotUnderTest(settings_for(postgres_url, slack, chatwoot), clock).start()
        for _ in range(2)
    ]
    try:
        payload = scenarios["exercise-2-add-warmth"].payload
        draft = await a.posted_draft(payload)
        await asyncio.gather(
            a.click(ActionId.APPROVE, draft, OPERATOR),
            b.submit_reject(draft.id, SECOND_OPERATOR, "wrong_tone"),
        )
        await a.settle()
        await b.settle()
        stored = await a.store.get_draft(draft.id)
        sent = len(chatwoot.sent_replies(payload["conversation_id"]))
        assert (stored.state, sent) in {(DraftState.APPROVED, 1), (DraftState.REJECTED, 0)}
        decisions = [
            e
            for e in await a.store.entries(subject_id=draft.id)
            if str(e.action) in ("draft.approved", "draft.rejected")
        ]
        assert len(decisions) == 1
    finally:
        await a.stop()
        await b.stop()
