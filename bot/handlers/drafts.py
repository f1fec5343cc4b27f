"""The draft card's buttons and modals: one listener for each button spec
(`bot.rules.buttons.CARD_BUTTONS`: Approve, Edit, Reject, Escalate, Mark Resolved, Retry, Send
Correction), doing what `EFFECTS` binds to its effect; and the Edit, Reject, Escalate and
Correction modals' submissions.

Every listener acknowledges first and hands the rest to background work, so Slack gets its
answer in milliseconds whatever the database, Chatwoot or the Web API are doing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any, TypeVar

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.blocks.ids import CallbackId, InputId
from bot.blocks.modals import (
    edit_input_id,
    join_parts,
    read_correction_metadata,
    read_edit_metadata,
    text_input_id,
)
from bot.domain import DecisionKind, EscalationType, RejectReason, Urgency
from bot.draft_body import MAX_DRAFT_CHARS
from bot.flows import corrections, decisions, spooled
from bot.handlers.payload import (
    InvalidPayload,
    action_value,
    channel_id,
    state_value,
    user_id,
)
from bot.rules.buttons import CARD_BUTTONS, Effect
from bot.services import Services

E = TypeVar("E", bound=Enum)

# What a press does once it is acknowledged, given the click's payload.
Press = Callable[[Services, dict[str, Any]], None]
Listener = Callable[[AsyncAck, dict[str, Any]], Awaitable[None]]


def _approve(services: Services, body: dict[str, Any]) -> None:
    decision = spooled.intent(
        services, "approve", action_value(body), user_id(body), channel=channel_id(body)
    )
    spooled.accept(services, decision, name="approve")


def _form(kind: DecisionKind) -> Press:
    def open_form(services: Services, body: dict[str, Any]) -> None:
        services.background.spawn_now(  # trigger_id expires 3 s after the click
            decisions.open_form(
                services,
                action_value(body),
                user_id(body),
                kind,
                trigger_id=body["trigger_id"],
                channel=channel_id(body),
            ),
            name=f"open-{kind.value}",
        )

    return open_form


def _retry(services: Services, body: dict[str, Any]) -> None:
    services.background.spawn(
        decisions.retry(services, action_value(body), user_id(body), channel_id(body)),
        name="retry",
    )


def _correction_form(services: Services, body: dict[str, Any]) -> None:
    services.background.spawn_now(  # trigger_id expires 3 s after the click
        corrections.open_form(
            services,
            action_value(body),
            user_id(body),
            trigger_id=body["trigger_id"],
            channel=channel_id(body),
        ),
        name="open-correction",
    )


EFFECTS: dict[Effect, Press] = {
    Effect.APPROVE: _approve,
    Effect.EDIT_FORM: _form(DecisionKind.EDIT),
    Effect.REJECT_FORM: _form(DecisionKind.REJECT),
    Effect.ESCALATE_FORM: _form(DecisionKind.ESCALATE),
    Effect.RETRY: _retry,
    Effect.CORRECTION_FORM: _correction_form,
}


def listener(services: Services, press: Press) -> Listener:
    """A button's listener: acknowledge, then `press`."""

    async def on_press(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        press(services, body)

    return on_press


def register(app: AsyncApp, services: Services) -> None:
    for button in CARD_BUTTONS:
        app.action(button.action_id)(listener(services, EFFECTS[button.effect]))

    async def on_edit_submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        try:
            draft_id, joins = read_edit_metadata(view["private_metadata"])
        except ValueError as error:
            raise InvalidPayload("view.private_metadata", str(error)) from None
        parts = [state_value(view, edit_input_id(n)) or "" for n in range(1, len(joins) + 2)]
        text = join_parts(parts, joins).strip()
        if not text:
            await ack(response_action="errors", errors={InputId.EDIT_TEXT: "The reply is empty."})
            return
        await ack()
        decision = spooled.intent(services, "edit", draft_id, user_id(body), text=text)
        spooled.accept(services, decision, name="edit")

    async def on_correction_submit(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        try:
            draft_id, number, joins = read_correction_metadata(view["private_metadata"])
        except ValueError as error:
            raise InvalidPayload("view.private_metadata", str(error)) from None
        ids = [text_input_id(InputId.CORRECTION_TEXT, n) for n in range(1, len(joins) + 2)]
        text = join_parts([state_value(view, i) or "" for i in ids], joins).strip()
        wrong = None
        if not text:
            wrong = "The correction is empty."
        elif len(text) > MAX_DRAFT_CHARS:
            wrong = f"Chatwoot takes at most {MAX_DRAFT_CHARS:,} characters in one message."
        if wrong is not None:
            await ack(response_action="errors", errors={InputId.CORRECTION_TEXT: wrong})
            return
        await ack()
        correction = corrections.correct(services, draft_id, user_id(body), number, text)
        services.background.spawn(correction, name="correct")

    async def on_reject_submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        reason = _enum(RejectReason, state_value(view, InputId.REJECT_REASON))
        if reason is None:
            await ack(response_action="errors", errors={InputId.REJECT_REASON: "Pick a reason."})
            return
        await ack()
        notes = (state_value(view, InputId.REJECT_NOTES) or "").strip() or None
        decision = spooled.intent(
            services,
            "reject",
            view["private_metadata"],
            user_id(body),
            reason=reason.value,
            notes=notes,
        )
        spooled.accept(services, decision, name="reject")

    async def on_escalate_submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        type_ = _enum(EscalationType, state_value(view, InputId.ESCALATION_TYPE))
        urgency = _enum(Urgency, state_value(view, InputId.ESCALATION_URGENCY))
        notes = (state_value(view, InputId.ESCALATION_NOTES) or "").strip()
        errors = {}
        if type_ is None:
            errors[InputId.ESCALATION_TYPE] = "Pick the kind of escalation."
        if urgency is None:
            errors[InputId.ESCALATION_URGENCY] = "Pick an urgency."
        if not notes:
            errors[InputId.ESCALATION_NOTES] = "Managers need notes to act on."
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        assert type_ is not None and urgency is not None
        decision = spooled.intent(
            services,
            "escalate",
            view["private_metadata"],
            user_id(body),
            escalation_type=type_.value,
            urgency=urgency.value,
            notes=notes,
        )
        spooled.accept(services, decision, name="escalate")

    app.view(CallbackId.EDIT.value)(on_edit_submit)
    app.view(CallbackId.REJECT.value)(on_reject_submit)
    app.view(CallbackId.ESCALATE.value)(on_escalate_submit)
    app.view(CallbackId.CORRECTION.value)(on_correction_submit)


def _enum(cls: type[E], value: str | None) -> E | None:
    try:
        return cls(value) if value is not None else None
    except ValueError:
        return None
