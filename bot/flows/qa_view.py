"""A reply's review cards, redrawn in every manager's DM once it has its verdict (and once its
coaching note reached the operator): called by `bot.flows.surfaces` alone."""

from __future__ import annotations

from bot import slack
from bot.blocks.qa_review import review_card, review_card_text
from bot.domain import QaReview
from bot.services import Services


async def redraw(services: Services, review: QaReview) -> None:
    """Redraw each manager's card of the reviewed reply (a card Slack refuses to update is
    logged and left: the verdict is stored, and the card's buttons refuse with the verdict)."""
    draft = await services.store.get_draft(review.draft_id)
    if draft is None or draft.decision is None:
        return
    url = services.conversation_url(draft.input.conversation_id)
    blocks = review_card(draft, review, conversation_url=url)
    text = review_card_text(draft, review)
    for card in await services.store.review_cards(review.draft_id):
        await slack.update(
            services, card.message, text=text, blocks=blocks, what=f"the review card of {draft.id}"
        )
