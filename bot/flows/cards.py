"""A draft's card: built from the stored draft, and redrawn in place as the draft moves on."""

from __future__ import annotations

from dataclasses import dataclass

from bot import slack
from bot.blocks.card import draft_card, draft_card_text
from bot.domain import Assignee, Draft, DraftState, Escalation, OutboxMessage
from bot.rules.risk import requires_manager
from bot.services import Services


@dataclass(frozen=True)
class Beside:
    """What a card shows beside its draft, stored apart from it: who is on the conversation
    in Chatwoot (a waiting card), the corrections sent after the reply (a sent one)."""

    assignee: Assignee | None = None
    corrections: tuple[OutboxMessage, ...] = ()


NOTHING_BESIDE = Beside()


async def beside(services: Services, draft: Draft) -> Beside:
    """What the draft's card shows beside it now (a training card: nothing)."""
    if draft.training is not None:
        return NOTHING_BESIDE
    if draft.state is DraftState.PENDING:
        conversation = await services.store.conversation_in_chatwoot(draft.input.conversation_id)
        return Beside(assignee=conversation.assignee)
    if draft.state is DraftState.APPROVED:
        return Beside(corrections=tuple(await services.store.corrections_of(draft.id)))
    return NOTHING_BESIDE


def card_blocks(
    services: Services,
    draft: Draft,
    escalation: Escalation | None = None,
    shown: Beside = NOTHING_BESIDE,
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
        assignee=shown.assignee,
        corrections=shown.corrections,
    )


async def refresh_card(
    services: Services,
    draft: Draft,
    escalation: Escalation | None = None,
    shown: Beside | None = None,
) -> bool:
    """Redraw a posted card from the stored draft (with ``shown`` beside it when the caller
    knows what is, else it is read); False (and a log line) if Slack refused."""
    if draft.card is None:
        return False
    if escalation is None and draft.state is DraftState.ESCALATED:
        escalation = await services.store.escalation_for_draft(draft.id)
    if shown is None:
        shown = await beside(services, draft)
    return await slack.update(
        services,
        draft.card,
        text=draft_card_text(draft),
        blocks=card_blocks(services, draft, escalation, shown),
        what=f"the card of {draft.id}",
    )
