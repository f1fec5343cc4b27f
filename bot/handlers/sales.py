"""Sales Pulse alert buttons, one listener each for every button the triggers' specs list
(`bot.rules.sales`): a response (recorded once) is handed to `sales_alerts.respond`, a form
(Create follow-up) opened at once; and the follow-up form's submission."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.blocks.ids import CallbackId, InputId
from bot.flows import database_down, sales_alerts
from bot.flows.sales_responses import BUTTONS, Button, team_today
from bot.handlers.payload import action_value, channel_id, state_value, user_id
from bot.services import Services


def register(app: AsyncApp, services: Services) -> None:
    def on_response(button: Button) -> Any:
        async def handler(ack: AsyncAck, body: dict[str, Any]) -> None:
            await ack()
            user, channel = user_id(body), channel_id(body)
            work = sales_alerts.respond(services, action_value(body), button, user, channel)
            services.background.spawn(
                database_down.or_tell(services, work, user=user, channel=channel, what="click"),
                name=f"sales-{button.response}",
            )

        return handler

    def on_form(button: Button) -> Any:
        async def handler(ack: AsyncAck, body: dict[str, Any]) -> None:
            await ack()
            services.background.spawn_now(  # trigger_id expires 3 s after the click
                sales_alerts.open_form(
                    services, button, action_value(body), user_id(body), body["trigger_id"]
                ),
                name=f"open-{button.effect}",
            )

        return handler

    async def on_followup_submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        owner, due, note, errors = read_followup(view, today=team_today(services))
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        assert owner is not None and due is not None
        due_at = datetime.combine(due + timedelta(days=1), time(0), services.settings.zone)
        user = user_id(body)
        work = sales_alerts.add_followup(
            services, view["private_metadata"], user, owner, due_at, note
        )
        services.background.spawn(
            database_down.or_tell(services, work, user=user, channel=None, what="follow-up"),
            name="sales-followup",
        )

    for button in BUTTONS:
        listener = on_form(button) if button.response is None else on_response(button)
        app.action(button.action_id)(listener)
    app.view(CallbackId.SALES_FOLLOWUP.value)(on_followup_submit)


def read_followup(
    view: dict[str, Any], *, today: date
) -> tuple[str | None, date | None, str, dict[str, str]]:
    """The follow-up's owner, due date and note, or the errors to show in the modal."""
    errors: dict[str, str] = {}
    owner = state_value(view, InputId.FOLLOWUP_OWNER)
    if not owner:
        errors[InputId.FOLLOWUP_OWNER] = "Choose who owns the follow-up."
    due = None
    try:
        due = date.fromisoformat(state_value(view, InputId.FOLLOWUP_DUE) or "")
    except ValueError:
        errors[InputId.FOLLOWUP_DUE] = "Pick a due date."
    if due is not None and due < today:
        errors[InputId.FOLLOWUP_DUE] = "The due date has passed; pick today or later."
    note = (state_value(view, InputId.FOLLOWUP_NOTE) or "").strip()
    if not note:
        errors[InputId.FOLLOWUP_NOTE] = "Say what is to be done."
    return owner, due, note, errors
