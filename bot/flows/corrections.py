"""Corrections: a reply the customer already has, followed up from its card.

Send Correction opens a modal that starts with what the customer got last from the card (the
reply, or its last correction); what is submitted goes to the same conversation as a new
message, through the Chatwoot outbox like the reply (assigned to the sender's Chatwoot agent,
with a private note saying who sent it from Slack), so it is delivered once however often
Chatwoot fails or the modal is submitted. Each correction is ``correction_<draft id>_<n>``,
``n`` fixed when the modal opens: a submission Slack delivers twice queues one message, and
two people correcting at once cannot both send the n-th (the second is told).

Who may correct: the operator who sent the reply (while still an operator), or a manager;
anyone else is refused, told why alone, and nothing changes. The correction is logged as
``reply.corrected`` with both texts when it is queued, and each delivery attempt as
``correction.sent``. Corrections count in no one's approve or edit numbers.
"""

from __future__ import annotations

from typing import Any

from bot import decision_log, slack
from bot.blocks.modals import correction_modal
from bot.blocks.text import mention
from bot.config import Settings
from bot.domain import (
    Action,
    DeliveryStatus,
    Draft,
    DraftState,
    MessageKind,
    OutboxMessage,
)
from bot.flows import decisions, outbox, surfaces
from bot.services import Services
from bot.slack import SLACK_FAILURES, describe, tell
from bot.store.outbox import correction_id


def refusal(settings: Settings, user: str, draft: Draft) -> str | None:
    """Why ``user`` may not correct this draft's reply now, or None when they may."""
    if draft.training is not None:
        return "A training card sends nothing to a customer, so there is nothing to correct."
    decision = draft.decision
    if draft.state is not DraftState.APPROVED or decision is None:
        return "Nothing to correct: no reply was sent from this card."
    if draft.reply.status is not DeliveryStatus.SENT:
        return "Nothing to correct yet: the customer does not have this reply."
    sender = decision.actor
    if settings.is_manager(user) or (user == sender and settings.may_act_on_drafts(user)):
        return None
    return (
        f"Only {mention(sender)}, who sent this reply, or a manager (OCC_MANAGERS) can send "
        "a correction. Ask them, or follow up in Chatwoot."
    )


def last_sent(draft: Draft, corrections: list[OutboxMessage]) -> str:
    """What the customer got last from this card: its last correction, else the reply."""
    if corrections:
        return corrections[-1].content
    decision = draft.decision
    final = decision.final_text if decision is not None else None
    return final if final is not None else draft.input.draft


async def open_form(
    services: Services, draft_id: str, user: str, *, trigger_id: str, channel: str | None
) -> None:
    """Send Correction: the modal, starting from what the customer got last."""

    async def prepare() -> dict[str, Any] | None:
        draft = await _check(services, draft_id, user, channel)
        if draft is None:
            return None
        earlier = await services.store.corrections_of(draft.id)
        return correction_modal(draft, last_sent(draft, earlier), len(earlier) + 1)

    try:
        await slack.open_form(services, trigger_id, prepare())
    except SLACK_FAILURES as error:
        await tell(
            services,
            channel=channel,
            user=user,
            text=f"Slack would not open the form ({describe(error)}). Try again.",
        )


async def correct(
    services: Services, draft_id: str, user: str, number: int, text: str
) -> OutboxMessage | None:
    """Queue the ``number``-th correction of the draft's reply with its ``reply.corrected``
    row, and send it; None when refused, or when this very correction was queued already
    (the same submission again)."""
    draft = await _check(services, draft_id, user, None)
    if draft is None:
        return None
    store = services.store
    before = last_sent(draft, await services.store.corrections_of(draft.id))
    message = outbox.new_message(
        services,
        subject_id=draft.id,
        conversation_id=draft.input.conversation_id,
        kind=MessageKind.REPLY,
        content=text,
        action=Action.CORRECTION_SENT,
        actor=user,
        message_id=correction_id(draft.id, number),
    )
    payload = {
        "outbox_id": message.id,
        "number": number,
        "text_before": before,
        "text_after": text,
        "reply_sent_by": draft.decision.actor if draft.decision else None,
    }
    log = decision_log.draft_entry(services, Action.REPLY_CORRECTED, draft, payload, actor=user)
    queued = await store.queue_outbox_message(message, log)
    if queued is None:
        taken = await store.get_outbox_message(message.id)
        if taken is not None and (taken.actor, taken.content) != (user, text):
            why = (
                f"Nothing sent: {mention(taken.actor)} sent correction {number} of this reply "
                "meanwhile. Open Send Correction again to see it first."
            )
            await decisions.refuse(services, draft, user, "correct", why)
        return None  # else: this submission again, queued once already
    await surfaces.changed(services, surfaces.Event(Action.REPLY_CORRECTED, draft))
    return await outbox.send_leased(services, queued, draft)


async def _check(services: Services, draft_id: str, user: str, channel: str | None) -> Draft | None:
    """The stored draft if ``user`` may correct its reply now; otherwise tell them why, alone,
    and log it."""
    draft = await services.store.get_draft(draft_id)
    if draft is None:
        await tell(services, channel=channel, user=user, text="That draft no longer exists.")
        return None
    why = refusal(services.settings, user, draft)
    if why is not None:
        await decisions.refuse(services, draft, user, "correct", why)
        return None
    return draft
