"""Reliability incidents: one message to #occ-reliability when something starts failing (a
dependency, a channel Slack refuses to post to), one when it works again, however many
replicas see it.

Opening and closing the incident is one conditional write with its log row; only the
replica whose write wins posts to Slack.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot import decision_log, slack
from bot.blocks.text import escape, slack_date
from bot.domain import Action, Incident, LogEntry, Outcome, Scope
from bot.integrations.chatwoot_answers import ChatwootError
from bot.runtime.reliability import dependency_incident, rate_limit_incident
from bot.runtime.workspace import problem_for
from bot.services import Services

log = logging.getLogger("occ.incidents")


FIRST_STEP = "First step: run `occ-bot check` on a replica."


async def dependency_failed(
    services: Services, dependency: str, detail: str, *, rate_limited: bool = False
) -> None:
    """A failure past the client's retries: alert reliability on-call once per streak. A
    rate limit that outlasts the retries is its own incident: the fix differs."""
    name = escape(dependency)
    since = slack_date(services.clock())
    if rate_limited:
        incident, what = rate_limit_incident(dependency), f"keeps rate-limiting us since {since}"
    else:
        incident, what = dependency_incident(dependency), f"is failing since {since}"
    await raise_incident(
        services,
        incident,
        subject=dependency,
        detail=detail,
        text=f":rotating_light: *{name}* {what}. Last error: {escape(detail)}. "
        f"Affected work is kept and retried automatically. {FIRST_STEP}",
    )


async def chatwoot_failed(services: Services, error: ChatwootError, context: str = "") -> None:
    """Chatwoot failing past the client's retries; a 429 is a persisting rate limit."""
    detail = f"{context}: {error}" if context else str(error)
    await dependency_failed(services, "chatwoot", detail[:200], rate_limited=error.status == 429)


async def dependency_ok(services: Services, dependency: str) -> None:
    """A success: close the dependency's open incidents (failing, rate-limited) and say so
    once each."""
    for incident in (dependency_incident(dependency), rate_limit_incident(dependency)):
        await clear_incident(
            services,
            incident,
            subject=dependency,
            text=lambda closed: (
                f":white_check_mark: *{escape(dependency)}* has recovered "
                f"(trouble since {slack_date(closed.opened_at)}); queued work is going out."
            ),
        )


def channel_incident(channel: str) -> str:
    return f"slack-channel:{channel}"


async def channel_refused(services: Services, channel: str, setting: str, code: str) -> None:
    """Slack refused the bot in a channel it must work in: /healthz names it at once, and
    on-call is told once, with the fix."""
    problem = problem_for(channel, setting, code, services.clock())
    services.workspace.refused(problem)
    await raise_incident(
        services,
        channel_incident(channel),
        subject="slack",
        detail=f"{channel}: {code}",
        text=f":no_entry: Slack refuses the bot in {escape(channel)} ({escape(code)}): "
        f"{escape(problem.fix)}. The bot tries again every few minutes.",
    )


async def channel_works(services: Services, channel: str) -> None:
    services.workspace.works(channel)
    await clear_incident(
        services,
        channel_incident(channel),
        subject="slack",
        text=f":white_check_mark: The bot works in {escape(channel)} again.",
    )


async def raise_incident(
    services: Services, incident_id: str, *, subject: str, detail: str, text: str
) -> bool:
    """Open the incident unless this replica knows it is open; True if this call opened it
    (and so posted ``text``)."""
    if services.incidents.known_open(incident_id):
        return False
    incident = Incident(
        id=incident_id, scope=Scope.RELIABILITY, opened_at=services.clock(), detail=detail
    )
    entry = _entry(services, Action.RELIABILITY_ALERT, subject, detail, Outcome.FAILED)
    opened = await services.store.open_incident(incident, entry)
    services.incidents.opened(opened or incident)
    if opened is not None:
        await _post(services, text)
    return opened is not None


async def clear_incident(
    services: Services,
    incident_id: str,
    *,
    subject: str,
    text: str | Callable[[Incident], str],
) -> bool:
    """Close the incident if it is open; True if this call closed it (and posted ``text``).
    Cheap when nothing is open: it reads this replica's view of the open incidents."""
    if incident_id not in await services.incidents.current(services.store):
        return False
    entry = _entry(services, Action.RELIABILITY_RECOVERED, subject, "", Outcome.SUCCESS)
    closed = await services.store.close_incident(incident_id, now=services.clock(), log=entry)
    services.incidents.closed(incident_id)
    if closed is not None:
        await _post(services, text(closed) if callable(text) else text)
    return closed is not None


def _entry(
    services: Services, action: Action, subject: str, detail: str, outcome: Outcome
) -> LogEntry:
    return decision_log.entry(
        services,
        action,
        subject_id=subject,
        conversation_id=None,
        payload={"dependency": subject, "detail": detail},
        outcome=outcome,
        scope=Scope.RELIABILITY,
    )


async def _post(services: Services, text: str) -> None:
    try:
        await slack.post(services, services.settings.reliability_channel, text=text)
    except slack.SLACK_FAILURES as error:  # the incident and its log row are stored; /healthz
        log.error("could not post reliability alert: %s", slack.describe(error))
