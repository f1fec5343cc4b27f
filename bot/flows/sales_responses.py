"""What each Sales Pulse button does: one function for each `Effect` a button spec names
(`bot.rules.sales_buttons`). A response has a detail, written in its log row before anyone is
told, and an act, done once the response is recorded; a form is opened.

Nothing here is retried (the response is recorded already), so a message that fails is made
visible instead: a reliability alert that names who was not told.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bot import slack
from bot.blocks import sales as blocks
from bot.blocks.modals import followup_modal
from bot.blocks.text import mention
from bot.domain import SalesAlert, SlackRef
from bot.flows.incidents import dependency_failed
from bot.rules.sales import buttons
from bot.rules.sales_buttons import Button, Effect
from bot.services import Services

log = logging.getLogger("occ.sales")

BUTTONS: tuple[Button, ...] = buttons()  # every button an alert can carry, for the handlers
DEFAULT_DUE_DAYS = 2


@dataclass(frozen=True)
class Response:
    """What a button recorded once per alert does."""

    detail: Callable[[Services, SalesAlert], dict[str, Any]]  # for its log row
    act: Callable[[Services, SalesAlert, str], Awaitable[None]]  # given who pressed it


def _nothing_to_say(services: Services, alert: SalesAlert) -> dict[str, Any]:
    return {}


async def _nothing_to_do(services: Services, alert: SalesAlert, user: str) -> None:
    return None


def _lead(services: Services, alert: SalesAlert) -> dict[str, Any]:
    return {"notified": services.settings.fulfillment_lead, "setting": "OCC_FULFILLMENT_LEAD"}


async def _notify_lead(services: Services, alert: SalesAlert, user: str) -> None:
    text = f":mega: Order spike, staffing needed: {_summary(alert)}. Flagged by {mention(user)}."
    lead = services.settings.fulfillment_lead
    await _notify(services, lead, "OCC_FULFILLMENT_LEAD", text, alert.message)


def _manager(services: Services, alert: SalesAlert) -> dict[str, Any]:
    return {
        "notified": services.settings.fulfillment_manager,
        "setting": "OCC_FULFILLMENT_MANAGER",
        "orders": [a.label for a in alert.finding.affected[:50]],
    }


async def _page_manager(services: Services, alert: SalesAlert, user: str) -> None:
    orders = ", ".join(blocks.t.inline(a.label, 80) for a in alert.finding.affected[:10])
    text = (
        f":rotating_light: Fulfillment delay: {_summary(alert)} ({orders}). "
        f"Paged by {mention(user)}."
    )
    manager = services.settings.fulfillment_manager
    await _notify(services, manager, "OCC_FULFILLMENT_MANAGER", text, alert.message, urgent=True)


def _skus(services: Services, alert: SalesAlert) -> dict[str, Any]:
    return {"skus": [a.label for a in alert.finding.affected]}


async def _start_reorder(services: Services, alert: SalesAlert, user: str) -> None:
    facts = "\n".join(
        f"• *{blocks.t.inline(a.label, 80)}*: {blocks.t.inline(a.detail, 300)} "
        f"({blocks.t.link(a.url, 'Shopify Admin')})"
        for a in alert.finding.affected
    )
    text = (
        f":thread: Reorder discussion started by {mention(user)}.\n{facts}\n"
        "How many to order, from whom, and by when? Reply in this thread."
    )
    await say(services, text, thread=alert.message)


async def open_followup(services: Services, alert_id: str, user: str, trigger_id: str) -> None:
    """The follow-up form: owner (whoever clicked), due date (in two days), note."""

    async def prepare() -> dict[str, Any] | None:
        alert = await services.store.get_sales_alert(alert_id)
        if alert is None:
            await slack.tell(services, channel=None, user=user, text="That alert is unknown.")
            return None
        due = team_today(services) + timedelta(days=DEFAULT_DUE_DAYS)
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


EFFECTS: dict[Effect, Response] = {
    Effect.RECORD: Response(_nothing_to_say, _nothing_to_do),
    Effect.NOTIFY_LEAD: Response(_lead, _notify_lead),
    Effect.PAGE_MANAGER: Response(_manager, _page_manager),
    Effect.REORDER_THREAD: Response(_skus, _start_reorder),
}
# The buttons that open a form, given the alert, who clicked and the click's trigger_id.
FORMS: dict[Effect, Callable[[Services, str, str, str], Awaitable[None]]] = {
    Effect.FOLLOWUP_FORM: open_followup,
}


def team_today(services: Services) -> date:
    """Today in the team's time zone (`OCC_TIMEZONE`): follow-ups are due by the day."""
    return services.clock().astimezone(services.settings.zone).date()


def _summary(alert: SalesAlert) -> str:
    metric = blocks.t.inline(alert.finding.metric, 200)  # may carry a product's title
    return f"{metric}: {blocks.amount(alert.finding, alert.finding.value)}"


async def _notify(
    services: Services,
    who: str | None,
    setting: str,
    text: str,
    thread: SlackRef | None,
    *,
    urgent: bool = False,
) -> None:
    """Tell ``who`` by DM and in the alert's thread (the mention notifies them there too);
    with nobody configured, the thread tells the channel and names the setting."""
    if who is None:
        here = "<!here> " if urgent else ""
        await say(
            services,
            f"{here}{text}\n_Nobody is set in `{setting}`, so this goes to the channel._",
            thread=thread,
        )
        return
    await say(services, text, channel=who)
    await say(services, f"{mention(who)} {text}", thread=thread)


async def say(
    services: Services,
    text: str,
    *,
    thread: SlackRef | None = None,
    channel: str | None = None,
) -> None:
    """Post a page, a notification, a reminder or a thread note; a failure is a reliability
    alert that names who was not told."""
    target = thread.channel if thread is not None else channel or services.settings.sales_channel
    try:
        await slack.post(services, target, text=text, thread_ts=thread.ts if thread else None)
    except slack.SLACK_FAILURES as error:
        detail = f"a Sales Pulse message to {target} was not delivered: {slack.describe(error)}"
        log.warning("%s", detail)
        await dependency_failed(services, "slack", detail)
