"""`/occ review`: last week's sample of each operator's sent replies, put before a manager as
review cards in their direct message with the bot, to mark **Good** or **Coach**
(`bot.flows.qa_verdicts`).

Last week is the last full week, Monday to Sunday in `OCC_TIMEZONE` (as the digest's). Each
operator's sample is their first `OCC_QA_SAMPLE_SIZE` sent replies in `bot.rules.qa`'s order
(edited first, then low confidence); as the week is over, the sample stays the same however
often it is asked for. A reply already reviewed is not posted again, nor one whose card the
manager has already; the manager's own replies are left to another manager.
"""

from __future__ import annotations

import logging
from collections import Counter

from bot import slack
from bot.blocks.qa_review import OperatorSample, review_answer, review_card, review_card_text
from bot.domain import DecisionKind, Draft, QaReview, ReviewCard, Verdict
from bot.rules.periods import last_week
from bot.rules.qa import reviewable, sample
from bot.services import Services
from bot.slack import tell

log = logging.getLogger("occ.qa")

LOOKED_AT = 5000  # the week's sent replies the sample is drawn from
NOT_A_MANAGER = (
    "Only managers (OCC_MANAGERS) review replies: `/occ stats` shows your decision quality."
)


async def start(services: Services, manager: str, people: list[str]) -> str:
    """Put last week's sample (of the operators in ``people``, or everyone's) before the
    manager: the answer says what is in it, and the cards not yet theirs follow by DM."""
    settings, store = services.settings, services.store
    if not settings.is_manager(manager):
        return NOT_A_MANAGER
    week = last_week(services.clock(), settings.zone)
    sent = [
        draft
        for draft in await store.decided_between(
            *week, [DecisionKind.APPROVE, DecisionKind.EDIT], LOOKED_AT
        )
        if reviewable(draft) and (not people or _operator(draft) in people)
    ]
    own = [draft for draft in sent if _operator(draft) == manager]
    others = [draft for draft in sent if _operator(draft) != manager]
    samples = sample(others, settings.qa_sample_size)
    sampled = [draft for part in samples.values() for draft in part]
    ids = [draft.id for draft in sampled]
    reviews = await store.qa_reviews_of(ids)
    cards = await store.review_cards_of(manager, ids)
    new = [draft for draft in sampled if draft.id not in reviews and draft.id not in cards]
    waiting = [i for i in ids if i not in reviews and i in cards]
    if new:
        services.background.spawn(_post_cards(services, manager, new), name="qa-review-cards")
    return review_answer(
        week,
        _parts(samples, Counter(_operator(draft) for draft in others), reviews),
        size=settings.qa_sample_size,
        new_cards=len(new),
        waiting_cards=len(waiting),
        own_left_out=len(own),
        named=bool(people),
    )


def _operator(draft: Draft) -> str:
    assert draft.decision is not None
    return draft.decision.actor


def _parts(
    samples: dict[str, list[Draft]], sent: Counter[str], reviews: dict[str, QaReview]
) -> list[OperatorSample]:
    parts = []
    for operator, drafts in samples.items():
        verdicts = Counter(reviews[d.id].verdict for d in drafts if d.id in reviews)
        parts.append(
            OperatorSample(
                operator=operator,
                sent=sent[operator],
                sampled=len(drafts),
                good=verdicts[Verdict.GOOD],
                coached=verdicts[Verdict.COACH],
                to_review=len(drafts) - sum(verdicts.values()),
            )
        )
    return parts


async def _post_cards(services: Services, manager: str, drafts: list[Draft]) -> None:
    """Post each reply's card to the manager's DM, in order, and record it; a card Slack did
    not take is said once at the end (`/occ review` again posts it)."""
    missed = 0
    for draft in drafts:
        try:
            ref = await slack.post(
                services,
                manager,  # a user ID: the bot's direct message with them
                text=review_card_text(draft, None),
                blocks=review_card(
                    draft,
                    None,
                    conversation_url=services.conversation_url(draft.input.conversation_id),
                ),
            )
        except slack.SLACK_FAILURES as error:
            log.warning("could not post the review card of %s: %s", draft.id, slack.describe(error))
            missed += 1
            continue
        card = ReviewCard(draft.id, manager, ref)
        if not await services.store.add_review_card(card, services.clock()):
            # A second `/occ review` a moment ago posted this reply's card too: keep one.
            await slack.delete(services, ref, what=f"the extra review card of {draft.id}")
    if missed:
        await tell(
            services,
            channel=None,
            user=manager,
            text=f"Slack did not take {missed} of the review cards just now: run "
            "`/occ review` again in a minute to send them.",
        )
