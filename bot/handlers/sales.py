"""Sales Pulse alert buttons: Acknowledge, the trigger's response, and Create follow-up (a
modal: owner, due date, note)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot import slack
from bot.blocks.ids import ActionId, CallbackId, InputId
from bot.blocks.modals import followup_modal
from bot.domain import SalesResponseKind
from bot.flows import journal, sales_alerts
from bot.handlers.payload import action_value, channel_id, state_value, user_id
from bot.services import Services

RESPONSES = {
    ActionId.SALES_ACKNOWLEDGE: SalesResponseKind.ACKNOWLEDGED,
    ActionId.SALES_NOTIFY_LEAD: SalesResponseKind.LEAD_NOTIFIED,
    ActionId.SALES_PAGE_MANAGER: SalesResponseKind.MANAGER_PAGED,
    ActionId.SALES_REORDER: SalesResponseKind.REORDER_STARTED,
}
DEFAULT_DUE_DAYS = 2


def register(app: AsyncApp, services: Services) -> None:
    def on_response(kind: SalesResponseKind) -> Any:
        async def handler(ack: AsyncAck, body: dict[str, Any]) -> None:
            await ack()
            user, channel = user_id(body), channel_id(body)
            work = sales_alerts.respond(services, action_value(body), kind, user, channel)
            services.background.spawn(
                journal.or_tell(services, work, user=user, channel=channel, what="click"),
                name=f"sales-{kind.value}",
            )

        return handler

    async def on_followup(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        services.background.spawn_now(  # trigger_id expires 3 s after the click
            _open_followup(services, action_value(body), user_id(body), body["trigger_id"]),
            name="open-followup",
        )

    async def on_followup_submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        owner, due, note, errors = read_followup(view, today=_today(services))
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
            journal.or_tell(services, work, user=user, channel=None, what="follow-up"),
            name="sales-followup",
        )

    for action, kind in RESPONSES.items():
        app.action(action.value)(on_response(kind))
    app.action(ActionId.SALES_FOLLOWUP.value)(on_followup)
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


def _today(services: Services) -> date:
    """Today in the team's time zone (`OCC_TIMEZONE`): follow-ups are due by the day."""
    return services.clock().astimezone(services.settings.zone).date()


async def _open_followup(services: Services, alert_id: str, user: str, trigger_id: str) -> None:
    async def prepare() -> dict[str, Any] | None:
        alert = await services.store.get_sales_alert(alert_id)
        if alert is None:
            await slack.tell(services, channel=None, user=user, text="That alert is unknown.")
            return None
        due = _today(services) + timedelta(days=DEFAULT_DUE_DAYS)
        summary = f"*{alert.finding.metric}*: {alert.finding.threshold}"
        return followup_modal(alert.id, summary, owner=user, due=due)

    try:
        await slack.open_form(services, trigger_id, prepare())
    except slack.SLACK_FAILURES as error:
        await slack.tell(
            services,
            channel=None,
            user=user,
            text=f"Could not open the follow-up form ({slack.describe(error)}); click again.",
        )
