"""The managers' escalation message: one listener for each button spec
(`bot.rules.buttons.ESCALATION_BUTTONS`: Claim, then Resolve), doing what `EFFECTS` binds to
its effect; and the Resolve modal's submission."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.blocks.ids import CallbackId, InputId
from bot.domain import MONEY_OUTCOMES, Resolution, ResolutionOutcome
from bot.flows import database_down, escalations
from bot.handlers.drafts import Press, listener
from bot.handlers.payload import action_value, channel_id, state_value, user_id
from bot.rules.buttons import ESCALATION_BUTTONS, Effect
from bot.services import Services

AMOUNT_MAX = 1_000_000.0


def _claim(services: Services, body: dict[str, Any]) -> None:
    user, channel = user_id(body), channel_id(body)
    claim = escalations.claim(services, action_value(body), user, channel)
    services.background.spawn(
        database_down.or_tell(services, claim, user=user, channel=channel, what="claim"),
        name="claim",
    )


def _resolve_form(services: Services, body: dict[str, Any]) -> None:
    services.background.spawn_now(  # trigger_id expires 3 s after the click
        escalations.open_resolve_form(
            services,
            action_value(body),
            user_id(body),
            trigger_id=body["trigger_id"],
            channel=channel_id(body),
        ),
        name="open-resolve",
    )


EFFECTS: dict[Effect, Press] = {Effect.CLAIM: _claim, Effect.RESOLVE_FORM: _resolve_form}


def register(app: AsyncApp, services: Services) -> None:
    for button in ESCALATION_BUTTONS:
        app.action(button.action_id)(listener(services, EFFECTS[button.effect]))

    async def on_resolve_submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        resolution, errors = read_resolution(view)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        assert resolution is not None
        user = user_id(body)
        resolve = escalations.resolve(services, view["private_metadata"], user, resolution)
        services.background.spawn(
            database_down.or_tell(services, resolve, user=user, channel=None, what="resolution"),
            name="resolve",
        )

    app.view(CallbackId.RESOLVE.value)(on_resolve_submit)


def read_resolution(view: dict[str, Any]) -> tuple[Resolution | None, dict[str, str]]:
    """The submitted resolution, or the errors to show next to the modal's inputs."""
    errors: dict[str, str] = {}
    summary = (state_value(view, InputId.RESOLUTION_SUMMARY) or "").strip()
    if not summary:
        errors[InputId.RESOLUTION_SUMMARY] = "Say what was done."
    try:
        outcome = ResolutionOutcome(state_value(view, InputId.RESOLUTION_OUTCOME) or "")
    except ValueError:
        outcome = None
        errors[InputId.RESOLUTION_OUTCOME] = "Pick the outcome."
    amount_text = (state_value(view, InputId.RESOLUTION_AMOUNT) or "").strip()
    amount = _amount(amount_text)
    if amount_text and amount is None:
        errors[InputId.RESOLUTION_AMOUNT] = "Give the amount in dollars, e.g. 59.98."
    elif outcome in MONEY_OUTCOMES and amount is None:
        errors[InputId.RESOLUTION_AMOUNT] = "How much was refunded or credited?"
    if errors or outcome is None:
        return None, errors
    reply = (state_value(view, InputId.RESOLUTION_REPLY) or "").strip() or None
    notes = (state_value(view, InputId.RESOLUTION_NOTES) or "").strip() or None
    return Resolution(outcome, summary, amount, reply, notes), {}


def _amount(text: str) -> float | None:
    try:
        value = round(float(text.replace("$", "").replace(",", "")), 2)
    except ValueError:
        return None
    return value if 0 < value <= AMOUNT_MAX else None
