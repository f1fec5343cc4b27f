"""A draft's card: built from the stored draft, and redrawn in place as the draft moves on."""

from __future__ import annotations

from bot import slack
from bot.blocks.card import draft_card, draft_card_text
from bot.domain import Assignee, Draft, DraftState, Escalation
from bot.rules.risk import requires_manager
from bot.services import Services


def card_blocks(
    services: Services,
    draft: Draft,
    escalation: Escalation | None = None,
    assignee: Assignee | None = None,
) -> list[dict]:
    if draft.training is not None:  # nothing is sent from it, so no send is reserved either
        return draft_card(
            draft,
            conversation_url=None,
            chatwoot_enabled=True,
            managers_only=False,
            escalation=escalation,
        )
    return draft_card(
        draft,
        conversation_url=services.conversation_url(draft.input.conversation_id),
        chatwoot_enabled=services.chatwoot is not None,
        managers_only=requires_manager(draft.flags),
        escalation=escalation,
        assignee=assignee,
    )


async def assignee_shown(services: Services, draft: Draft) -> Assignee | None:
    """Who a waiting card says is on its conversation in Chatwoot (a decided card, or a
    training card, says nothing of it)."""
    if draft.state is not DraftState.PENDING or draft.training is not None:
        return None
    conversation = await services.store.conversation_in_chatwoot(draft.input.conversation_id)
    return conversation.assignee


async def refresh_card(
    services: Services, draft: Draft, escalation: Escalation | None = None
) -> bool:
    """Redraw a posted card from the stored draft; False (and a log line) if Slack refused."""
    if draft.card is None:
        return False
    if escalation is None and draft.state is DraftState.ESCALATED:
        escalation = await services.store.escalation_for_draft(draft.id)
    assignee = await assignee_shown(services, draft)
    return await slack.update(
        services,
        draft.card,
        text=draft_card_text(draft),
        blocks=card_blocks(services, draft, escalation, assignee),
        what=f"the card of {draft.id}",
    )
