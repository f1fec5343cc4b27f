"""QA reviews in the store: one verdict per reply (the first wins, with its log row), review
cards once per manager, the coaching note posted once under a lease, and the numbers counted
in SQL. On SQLite, PostgreSQL and Supabase's REST API."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.domain import Action, Band, QaReview, ReviewCard, SlackRef, Verdict
from bot.store import Store
from tests.store.helpers import LEASE, T0, actions, entry, stored_draft

pytest_plugins = ["tests.store_fixtures"]

OPERATOR, OTHER, MANAGER, SECOND_MANAGER = "U0OPERATOR", "U0OTHER", "U0MANAGER", "U0MANAGER2"


def verdict(
    draft_id: str,
    reviewer: str = MANAGER,
    kind: Verdict = Verdict.GOOD,
    *,
    operator: str = OPERATOR,
    at=T0,
) -> QaReview:
    note = "Check the order date first." if kind is Verdict.COACH else None
    return QaReview(draft_id, operator, reviewer, kind, note, at, T0 - timedelta(days=3))


def reviewed_entry(review: QaReview):
    payload = {"verdict": review.verdict.value, "note": review.note}
    return entry(review.draft_id, Action.QA_REVIEWED, actor=review.reviewer, payload=payload)


async def test_a_reply_gets_one_verdict_and_the_loser_writes_nothing(store: Store) -> None:
    await stored_draft(store, "d-1")
    first, second = verdict("d-1"), verdict("d-1", SECOND_MANAGER, Verdict.COACH)

    won = await asyncio.gather(
        store.review_reply(first, reviewed_entry(first)),
        store.review_reply(second, reviewed_entry(second)),
    )

    assert sum(result is not None for result in won) == 1
    stored = await store.qa_review("d-1")
    assert stored in won and stored.note_message is None
    assert await actions(store, "d-1") == ["draft.received", "qa.reviewed"]
    assert await store.qa_reviews_of(["d-1", "d-none"]) == {"d-1": stored}


async def test_a_managers_card_of_a_reply_is_recorded_once(store: Store) -> None:
    card = ReviewCard("d-1", MANAGER, SlackRef("D0MANAGER", "1.000001"))
    again = ReviewCard("d-1", MANAGER, SlackRef("D0MANAGER", "1.000002"))
    other = ReviewCard("d-1", SECOND_MANAGER, SlackRef("D0MANAGER2", "1.000003"))

    assert await store.add_review_card(card, T0)
    assert not await store.add_review_card(again, T0)
    assert await store.add_review_card(other, T0 + timedelta(seconds=1))
    assert await store.review_cards("d-1") == [card, other]
    assert await store.review_cards_of(MANAGER, ["d-1", "d-2"]) == {"d-1": card.message}


async def test_a_coaching_note_is_sent_under_one_lease_and_recorded_once(store: Store) -> None:
    coached, good = verdict("d-1", kind=Verdict.COACH), verdict("d-2")
    for review in (coached, good):
        await store.review_reply(review, reviewed_entry(review))
    later = T0 + timedelta(minutes=1)
    until = later + LEASE

    assert await store.unsent_notes(later) == ["d-1"]  # a Good verdict has no note
    assert await store.claim_note_post("d-2", now=later, lease_until=until) is None
    assert await store.claim_note_post("d-1", now=later, lease_until=until) is not None
    assert await store.claim_note_post("d-1", now=later, lease_until=until) is None
    assert await store.unsent_notes(later) == []
    sent_log = entry("d-1", Action.QA_NOTE_SENT)
    stale = until - timedelta(seconds=1)
    dm = SlackRef("D0OPERATOR", "2.000001")
    assert await store.set_note_message("d-1", dm, sent_log, lease_until=stale) is None
    recorded = await store.set_note_message("d-1", dm, sent_log, lease_until=until)

    assert recorded is not None and recorded.note_message == dm and not recorded.note_pending
    assert await store.unsent_notes(until + LEASE) == []


async def test_a_note_slack_refuses_for_good_is_parked_until_unparked(store: Store) -> None:
    coached = verdict("d-1", kind=Verdict.COACH)
    await store.review_reply(coached, reviewed_entry(coached))
    now = T0
    for n in range(3):
        until = now + LEASE
        assert await store.claim_note_post("d-1", now=now, lease_until=until) is not None
        log = entry("d-1", Action.QA_NOTE_SENT, payload={"error": "channel_not_found"})
        assert await store.refuse_note_post("d-1", lease_until=until, log=log) == n + 1
        now = until + timedelta(seconds=1)

    assert await store.unsent_notes(now) == []  # parked
    await store.unpark_notes()
    assert await store.unsent_notes(now) == ["d-1"]


async def test_decision_quality_is_counted_per_operator_and_for_the_team(store: Store) -> None:
    week = [
        verdict("d-1", at=T0),
        verdict("d-2", kind=Verdict.COACH, at=T0 + timedelta(hours=1)),
        verdict("d-3", operator=OTHER, at=T0 + timedelta(hours=2)),
        verdict("d-4", at=T0 + timedelta(days=8)),  # outside the window
    ]
    for review in week:
        await store.review_reply(review, reviewed_entry(review))
    since, until = T0, T0 + timedelta(days=7)

    team = await store.decision_stats(since=since, until=until)
    mine = await store.decision_stats(since=since, until=until, actor=OPERATOR)
    by_operator = await store.quality_by_operator(since=since, until=until)

    assert (team.reviewed, team.reviewed_good, team.decision_quality) == (3, 2, 2 / 3)
    assert (mine.reviewed, mine.reviewed_good, mine.decision_quality) == (2, 1, 0.5)
    assert [(q.operator, q.reviewed, q.good) for q in by_operator] == [
        (OPERATOR, 2, 1),
        (OTHER, 1, 1),
    ]


async def test_calibration_counts_decisions_by_the_band_of_the_draft(store: Store) -> None:
    rows = [
        ("high", Action.DRAFT_APPROVED, {}),
        ("high", Action.DRAFT_APPROVED, {}),
        ("high", Action.DRAFT_EDITED, {}),
        ("medium", Action.DRAFT_EDITED, {}),
        ("low", Action.DRAFT_REJECTED, {"reason": "factual_error"}),
        ("low", Action.DRAFT_REJECTED, {"reason": "customer_confirmed"}),  # Mark Resolved
        ("low", Action.DRAFT_ESCALATED, {}),
        ("low", Action.DRAFT_APPROVED, {}),
    ]
    for n, (band, action, extra) in enumerate(rows):
        await store.log(entry(f"d-{n}", action, payload={"band": band, **extra}))
    await store.log(entry("d-x", Action.DRAFT_APPROVED, at=T0 + timedelta(days=9)))

    bands = await store.calibration(since=T0, until=T0 + timedelta(days=7))

    by_band = {b.band: (b.approved, b.edited, b.rejected, b.escalated) for b in bands}
    assert by_band == {
        Band.HIGH: (2, 1, 0, 0),
        Band.MEDIUM: (0, 1, 0, 0),
        Band.LOW: (1, 0, 1, 1),
    }
    assert bands[0].as_is_rate == 2 / 3 and bands[2].sent_rate == 1 / 3
