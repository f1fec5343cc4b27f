"""QA review's verdicts: a manager marks a sent reply **Good**, or **Coach** with a note that
reaches the operator by direct message.

Who: managers (`OCC_MANAGERS`), on a reply that is not their own (another manager reviews
those). One verdict per reply: it is one conditional insert with its ``qa.reviewed`` row
(`bot.store.qa_reviews`), so two managers clicking at once, a double click or a Slack retry
give one verdict. Anyone else, or a second reviewer, is told why (visible to them alone),
logged ``qa.refused``, and nothing changes.

The note is sent after the verdict is stored, once, under a lease (`bot.flows.posting`): the
verdict is the truth, a note Slack does not take is tried again by the ``reposts`` job, and
every manager's card of the reply says the note is on its way until it has arrived.
"""

from __future__ import annotations

from typing import Any

from bot import decision_log, slack
from bot.blocks.qa_review import coach_modal, coaching_note
from bot.blocks.text import mention, slack_date
from bot.domain import Action, Draft, LogEntry, Outcome, QaReview, Verdict
from bot.flows import database_down, surfaces
from bot.flows.posting import Post, post_once
from bot.rules.qa import edited, reviewable
from bot.rules.risk import confidence_band
from bot.runtime.batch import Tally, each
from bot.services import Services
from bot.slack import tell

ONLY_MANAGERS = "Only managers (OCC_MANAGERS) review replies."
OWN_REPLY = "That reply is your own: another manager reviews it."
NOT_A_SENT_REPLY = "That is not a sent reply, so there is nothing to review."


async def good(services: Services, draft_id: str, user: str, channel: str | None) -> None:
    """Good: the operator's decision was right."""
    await review(services, draft_id, user, Verdict.GOOD, None, channel)


async def coach(services: Services, draft_id: str, user: str, note: str) -> None:
    """Coach (the modal submitted): the verdict, then the note to the operator by DM."""
    await review(services, draft_id, user, Verdict.COACH, note, None)


async def open_coach_form(
    services: Services, draft_id: str, user: str, *, trigger_id: str, channel: str | None
) -> None:
    """Open the Coach modal, unless the user may not review this reply (told why instead)."""

    async def prepare() -> dict[str, Any] | None:
        draft = await _reviewable(services, draft_id, user, channel, Verdict.COACH)
        return None if draft is None else coach_modal(draft)

    try:
        await slack.open_form(services, trigger_id, prepare())
    except slack.SLACK_FAILURES as error:
        await tell(
            services,
            channel=channel,
            user=user,
            text=f"Slack would not open the form ({slack.describe(error)}). Try again.",
        )


async def review(
    services: Services,
    draft_id: str,
    user: str,
    verdict: Verdict,
    note: str | None,
    channel: str | None,
) -> QaReview | None:
    """Record ``user``'s verdict on the reply, redraw its cards, and send a Coach verdict's
    note; None when refused (the user was told why) or another reviewer was first."""
    draft = await _reviewable(services, draft_id, user, channel, verdict)
    if draft is None:
        return None
    decision = draft.decision
    assert decision is not None
    given = QaReview(
        draft_id=draft.id,
        operator=decision.actor,
        reviewer=user,
        verdict=verdict,
        note=note,
        reviewed_at=services.clock(),
        decided_at=decision.at,
    )
    won = await services.store.review_reply(given, _reviewed_entry(services, draft, given))
    if won is None:
        first = await services.store.qa_review(draft_id)
        why = already_reviewed(first) if first else "Another manager is reviewing it."
        await _refuse(services, draft, user, channel, verdict, why)
        return None
    await surfaces.changed(services, surfaces.Event(Action.QA_REVIEWED, won))
    if won.verdict is Verdict.COACH:
        await send_note(services, won, draft)
    return won


def already_reviewed(first: QaReview) -> str:
    word = "Good" if first.verdict is Verdict.GOOD else "Coach"
    return (
        f"Already reviewed by {mention(first.reviewer)} ({word}) "
        f"{slack_date(first.reviewed_at)}: a reply has one verdict."
    )


async def _reviewable(
    services: Services, draft_id: str, user: str, channel: str | None, verdict: Verdict
) -> Draft | None:
    """The reply, if ``user`` may review it now; else None, and they were told why."""
    store = services.store
    draft = await store.get_draft(draft_id)
    if draft is None or not reviewable(draft):
        await tell(services, channel=channel, user=user, text=NOT_A_SENT_REPLY)
        return None
    assert draft.decision is not None
    if not services.settings.is_manager(user):
        why = ONLY_MANAGERS
    elif draft.decision.actor == user:
        why = OWN_REPLY
    elif (first := await store.qa_review(draft_id)) is not None:
        why = already_reviewed(first)
    else:
        return draft
    await _refuse(services, draft, user, channel, verdict, why)
    return None


async def _refuse(
    services: Services,
    draft: Draft,
    user: str,
    channel: str | None,
    verdict: Verdict,
    why: str,
) -> None:
    entry = decision_log.draft_entry(
        services,
        Action.QA_REFUSED,
        draft,
        {"attempted": verdict.value, "reason": why},
        actor=user,
        outcome=Outcome.REFUSED,
    )
    await database_down.keep(services, entry)
    await tell(services, channel=channel, user=user, text=why)


def _reviewed_entry(services: Services, draft: Draft, given: QaReview) -> LogEntry:
    decision = draft.decision
    assert decision is not None
    payload = {
        "verdict": given.verdict.value,
        "note": given.note,
        "operator": given.operator,
        "decision": decision.kind.value,
        "decided_at": decision.at.isoformat(),
        "edited": edited(draft),
        "confidence": draft.input.confidence,
        "band": confidence_band(draft.input.confidence).value,
    }
    return decision_log.draft_entry(
        services, Action.QA_REVIEWED, draft, payload, actor=given.reviewer
    )


# -- the coaching note ----------------------------------------------------------------------


async def send_note(services: Services, given: QaReview, draft: Draft) -> QaReview | None:
    """DM the operator the Coach verdict's note, once (see `bot.flows.posting`); the review as
    recorded with the note's message, or None: not sent now (tried again by `repost_notes`)."""
    store = services.store

    def entry(payload: dict[str, Any], outcome: Outcome) -> LogEntry:
        payload = payload | {"operator": given.operator, "reviewer": given.reviewer}
        return decision_log.draft_entry(
            services, Action.QA_NOTE_SENT, draft, payload, outcome=outcome
        )

    sent = await post_once(
        services,
        Post(
            what="coaching note",
            channel=given.operator,  # a user ID: the bot's direct message with them
            setting="OCC_OPERATORS",
            render=lambda: coaching_note(draft, given),
            entry=entry,
            claim=lambda now, until: store.claim_note_post(
                given.draft_id, now=now, lease_until=until
            ),
            record=lambda ref, at, log, until: store.set_note_message(
                given.draft_id, ref, log, lease_until=until
            ),
            refused=lambda until, log: store.refuse_note_post(
                given.draft_id, lease_until=until, log=log
            ),
            unpark=store.unpark_notes,
        ),
    )
    if sent is not None:
        await surfaces.changed(services, surfaces.Event(Action.QA_NOTE_SENT, sent))
    return sent


async def repost_notes(services: Services) -> Tally:
    """Send the coaching notes Slack did not take earlier."""

    async def resend(draft_id: str) -> None:
        given = await services.store.qa_review(draft_id)
        draft = await services.store.get_draft(draft_id)
        if given is not None and draft is not None:
            await send_note(services, given, draft)

    ids = await services.store.unsent_notes(services.clock())
    return await each(ids, resend, what="sending the coaching note on")
