"""A Sales Pulse alert's life: opened once per condition, alerted again only when markedly
worse (a new alert that supersedes the open one), cleared in its thread; and what people do
about it: the buttons its trigger's spec lists (`bot.rules.sales`), each checked against who
may press it, recorded, then done (`bot.flows.sales_responses`), and follow-ups.

Every state change is one conditional write with its log row; only the writer that wins
posts to Slack, so replicas and double clicks alert, page and notify once.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from bot import decision_log, slack
from bot.blocks import charts
from bot.blocks import sales as blocks
from bot.blocks.text import mention
from bot.domain import (
    Action,
    Finding,
    LogEntry,
    Outcome,
    SalesAlert,
    SalesFollowup,
    SalesResponse,
    Scope,
    SlackRef,
)
from bot.flows import database_down, surfaces
from bot.flows.posting import Post, found_in_slack, post_once
from bot.flows.sales_responses import EFFECTS, FORMS, say
from bot.flows.sales_view import previous_finding
from bot.flows.surfaces import Event
from bot.rules.sales import CREATE_FOLLOWUP, Evaluation, Status, done_text, markedly_worse
from bot.rules.sales_buttons import Button, may_press, refusal
from bot.runtime.batch import Tally, each
from bot.services import Services

MESSAGE, CLEAR = "message", "clear"


async def follow(
    services: Services, evaluation: Evaluation, open_alert: SalesAlert | None
) -> str | None:
    """Act on one evaluation: "alerted", "worse", "cleared", or None (nothing to say)."""
    if evaluation.status == Status.CROSSED:
        assert evaluation.finding is not None
        finding = evaluation.finding
        if open_alert is None:
            alert = _new_alert(services, finding)
            opened = await services.store.open_sales_alert(alert, _alert_entry(services, alert))
            if opened is None:
                return None  # another replica opened it
            await post_alert(services, opened)
            return "alerted"
        if not markedly_worse(open_alert.finding, finding):
            return None
        worse = _new_alert(services, finding, supersedes=open_alert.id)
        entry = _alert_entry(services, worse, previous=open_alert)
        if await services.store.supersede_sales_alert(open_alert.id, worse, entry) is None:
            return None
        await surfaces.changed(services, Event(Action.SALES_ALERT, worse))  # "superseded"
        await post_alert(services, worse)
        return "worse"
    if evaluation.status == Status.CLEAR and open_alert is not None:
        entry = _entry(
            services, Action.SALES_CLEARED, open_alert.id, _finding_payload(open_alert.finding)
        )
        cleared = await services.store.clear_sales_alert(
            open_alert.id, now=services.clock(), log=entry
        )
        if cleared is None:
            return None
        await post_clear(services, cleared)
        await surfaces.changed(services, Event(Action.SALES_CLEARED, cleared))
        return "cleared"
    return None


async def post_alert(
    services: Services, alert: SalesAlert, *, again: bool = False
) -> SalesAlert | None:
    """Post the alert once, then its trend chart in its thread. ``again``: an earlier attempt
    may have posted it before its worker died, so Slack is searched first."""
    previous = await previous_finding(services, alert)
    posted = await post_once(services, _post(services, alert, MESSAGE, previous, again=again))
    if posted is not None and posted.message is not None and len(posted.finding.trend) > 1:
        png = await asyncio.to_thread(charts.trend_png, posted.finding)
        await slack.upload(
            services,
            posted.message,
            png,
            filename=f"{posted.finding.trigger.value}-{posted.id}.png",
            title=f"{posted.finding.metric}: {posted.finding.trend_label}",
        )
    return posted


async def post_clear(
    services: Services, alert: SalesAlert, *, again: bool = False
) -> SalesAlert | None:
    if alert.message is None:
        return None  # never posted: nothing to clear in Slack (repost skips it too)
    return await post_once(services, _post(services, alert, CLEAR, None, again=again))


async def repost_alerts(services: Services) -> Tally:
    """Post the alerts and clearing notes Slack refused earlier."""

    async def repost(alert_id: str) -> None:
        alert = await services.store.get_sales_alert(alert_id)
        if alert is None:
            return
        if alert.cleared_at is not None:
            await post_clear(services, alert, again=True)
        elif alert.superseded_by is None:
            await post_alert(services, alert, again=True)

    ids = await services.store.unposted_sales_alerts(services.clock())
    return await each(ids, repost, what="posting sales alert")


async def respond(
    services: Services,
    alert_id: str,
    button: Button,
    user: str,
    channel: str | None,
) -> SalesResponse | None:
    """A button recorded once per alert (Acknowledge, notify the fulfillment lead, page the
    fulfillment manager, start the reorder discussion): whoever clicks first, if they may."""
    kind = button.response
    assert kind is not None, f"{button.label} opens a form"
    alert = await services.store.get_sales_alert(alert_id)
    if alert is None:
        await slack.tell(services, channel=channel, user=user, text="That alert is unknown.")
        return None
    if not may_press(button.who, user, services.settings.managers):
        await _not_allowed(services, alert.id, button, user, channel)
        return None
    earlier = alert.response(kind)
    if earlier is not None:
        await _already(services, alert, earlier, channel, user)
        return None
    effect = EFFECTS[button.effect]
    detail = effect.detail(services, alert)
    response = SalesResponse(kind.value, user, services.clock(), detail)
    entry = _entry(
        services,
        button.log,
        alert.id,
        {**detail, "condition": alert.condition, "trigger": alert.finding.trigger.value},
        actor=user,
    )
    recorded = await services.store.respond_to_sales_alert(alert.id, response, entry)
    if recorded is None:  # someone else was first, between the read and the write
        latest = await services.store.get_sales_alert(alert.id)
        first = latest.response(kind) if latest else None
        if first is not None:
            await _already(services, alert, first, channel, user)
        return None
    await effect.act(services, alert, user)
    await surfaces.changed(services, Event(button.log, alert))
    return recorded


async def open_form(
    services: Services, button: Button, alert_id: str, user: str, trigger_id: str
) -> None:
    """A button that opens a form (Create follow-up), if its user may press it."""
    if not may_press(button.who, user, services.settings.managers):
        await _not_allowed(services, alert_id, button, user, None)
        return
    await FORMS[button.effect](services, alert_id, user, trigger_id)


async def add_followup(
    services: Services, alert_id: str, user: str, owner: str, due_at: datetime, note: str
) -> SalesFollowup | None:
    alert = await services.store.get_sales_alert(alert_id)
    if alert is None:
        await slack.tell(services, channel=None, user=user, text="That alert is unknown.")
        return None
    if not may_press(CREATE_FOLLOWUP.who, user, services.settings.managers):
        await _not_allowed(services, alert.id, CREATE_FOLLOWUP, user, None)
        return None
    followup = SalesFollowup(
        id=services.new_id("fu"),
        alert_id=alert.id,
        owner=owner,
        due_at=due_at,
        note=note,
        created_by=user,
        created_at=services.clock(),
    )
    payload = {
        "followup_id": followup.id,
        "owner": owner,
        "due_at": due_at.isoformat(),
        "note": note,
        "condition": alert.condition,
    }
    entry = _entry(services, CREATE_FOLLOWUP.log, alert.id, payload, actor=user)
    await services.store.add_followup(followup, entry)
    if alert.message is not None:
        text = (
            f":memo: Follow-up for {mention(owner)}, due {due_day(services, due_at)}, created by "
            f"{mention(user)}: {blocks.t.inline(note, 1000) or '(no note)'}"
        )
        await say(services, text, thread=alert.message)
    return followup


async def remind_followups(services: Services) -> int:
    """DM each owner whose follow-up has passed its due date, once."""
    now = services.clock()
    reminded = 0
    for followup in await services.store.due_followups(now):
        entry = _entry(
            services,
            Action.SALES_FOLLOWUP_DUE,
            followup.alert_id,
            {"followup_id": followup.id, "owner": followup.owner, "note": followup.note},
        )
        taken = await services.store.take_followup_reminder(followup.id, now=now, log=entry)
        if taken is None:
            continue
        alert = await services.store.get_sales_alert(followup.alert_id)
        where = ""
        if alert is not None and alert.message is not None:
            link = await slack.permalink(services, alert.message)
            where = f" (<{link}|the alert>)" if link else ""
        await say(
            services,
            f":alarm_clock: Your Sales Pulse follow-up was due {due_day(services, followup.due_at)}"
            f"{where}: {blocks.t.inline(followup.note, 1000) or '(no note)'}",
            channel=followup.owner,
        )
        reminded += 1
    return reminded


def due_day(services: Services, due_at: datetime) -> str:
    """The day the follow-up was set for: it falls due when that day ends, in the team's
    time zone."""
    day = (due_at - timedelta(seconds=1)).astimezone(services.settings.zone)
    return f"{day:%a %-d %b} (end of day, {services.settings.timezone})"


# -- refusals ------------------------------------------------------------------------------------


async def _not_allowed(
    services: Services, alert_id: str, button: Button, user: str, channel: str | None
) -> None:
    await database_down.keep(
        services,
        _entry(
            services,
            Action.SALES_REFUSED,
            alert_id,
            {"button": button.action_id, "who": button.who.value},
            actor=user,
            outcome=Outcome.REFUSED,
        ),
    )
    await slack.tell(services, channel=channel, user=user, text=refusal(button))


async def _already(
    services: Services,
    alert: SalesAlert,
    first: SalesResponse,
    channel: str | None,
    user: str,
) -> None:
    what = done_text(first.kind)
    await database_down.keep(
        services,
        _entry(
            services,
            Action.SALES_REFUSED,
            alert.id,
            {"response": first.kind, "first_by": first.actor},
            actor=user,
            outcome=Outcome.REFUSED,
        ),
    )
    await slack.tell(
        services,
        channel=channel,
        user=user,
        text=f"{what} already, by {mention(first.actor)}: nothing was done twice.",
    )


# -- posting ------------------------------------------------------------------------------------


def _post(
    services: Services,
    alert: SalesAlert,
    prefix: str,
    previous: Finding | None,
    *,
    again: bool = False,
) -> Post[SalesAlert]:
    store = services.store
    clearing = prefix == CLEAR
    channel = (
        alert.message.channel if clearing and alert.message else services.settings.sales_channel
    )
    thread_ts = alert.message.ts if clearing and alert.message else None
    marker = slack.Metadata(f"occ_sales_{prefix}", alert.id)

    async def recorded() -> SlackRef | None:
        stored = await store.get_sales_alert(alert.id)
        if stored is None:
            return None
        return stored.clear_message if clearing else stored.message

    def render() -> tuple[list[dict[str, Any]], str]:
        if clearing:
            return blocks.clear_blocks(alert), blocks.clear_text(alert)
        return blocks.alert_blocks(alert, previous), blocks.alert_text(alert, previous)

    def entry(payload: dict[str, Any], outcome: Outcome) -> LogEntry:
        what = {"what": "clearing note" if clearing else "alert"}
        return _entry(services, Action.SALES_POSTED, alert.id, what | payload, outcome=outcome)

    return Post(
        what="Sales Pulse clearing note" if clearing else "Sales Pulse alert",
        channel=channel,
        setting="OCC_SALES_CHANNEL",
        render=render,
        entry=entry,
        claim=lambda now, lease: store.claim_sales_post(
            alert.id, prefix, now=now, lease_until=lease
        ),
        record=lambda ref, _at, log_entry, lease: store.record_sales_post(
            alert.id, prefix, ref, [log_entry], lease_until=lease
        ),
        refused=lambda lease, log_entry: store.refuse_sales_post(
            alert.id, prefix, lease_until=lease, log=log_entry
        ),
        unpark=lambda: store.unpark_sales_posts(prefix),
        thread_ts=thread_ts,
        metadata=marker,
        posted_before=(
            found_in_slack(services, channel, marker, since=alert.opened_at, thread_ts=thread_ts)
            if again
            else None
        ),
        recorded=recorded,
    )


# -- log rows -------------------------------------------------------------------------------------


def _new_alert(services: Services, finding: Finding, supersedes: str | None = None) -> SalesAlert:
    return SalesAlert(
        id=services.new_id("sa"), finding=finding, opened_at=services.clock(), supersedes=supersedes
    )


def _finding_payload(finding: Finding) -> dict[str, Any]:
    return {
        "trigger": finding.trigger.value,
        "condition": finding.condition,
        "metric": finding.metric,
        "value": finding.value,
        "baseline": finding.baseline,
        "threshold": finding.threshold,
        "severity": finding.severity,
        "affected": [a.label for a in finding.affected[:50]],
        "affected_total": max(finding.affected_total, len(finding.affected)),
    }


def _alert_entry(
    services: Services, alert: SalesAlert, previous: SalesAlert | None = None
) -> LogEntry:
    payload = _finding_payload(alert.finding)
    if previous is not None:
        payload |= {"supersedes": previous.id, "previous_severity": previous.finding.severity}
    return _entry(services, Action.SALES_ALERT, alert.id, payload)


def _entry(
    services: Services,
    action: Action,
    subject_id: str,
    payload: dict[str, Any],
    *,
    actor: str = "system",
    outcome: Outcome = Outcome.SUCCESS,
) -> LogEntry:
    return decision_log.entry(
        services,
        action,
        subject_id=subject_id,
        conversation_id=None,
        payload=payload,
        actor=actor,
        outcome=outcome,
        scope=Scope.SALES,
    )
