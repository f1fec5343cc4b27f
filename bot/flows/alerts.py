"""Reliability alerts: one to #occ-reliability when something starts failing (a dependency,
a channel Slack refuses to post to), one when it works again, however many replicas see it.

Opening and closing the incident is one conditional write with its log row; only the
replica whose write wins posts to Slack.
"""

from __future__ import annotations

import logging

from bot import audit, slack
from bot.blocks.text import escape
from bot.domain import Action, Incident, LogEntry, Outcome, Scope
from bot.runtime.reliability import dependency_incident
from bot.services import Services

log = logging.getLogger("occ.alerts")


async def dependency_failed(services: Services, dependency: str, detail: str) -> None:
    """First failure of a streak: alert reliability on-call once."""
    await raise_incident(
        services,
        dependency_incident(dependency),
        subject=dependency,
        detail=detail,
        text=f":rotating_light: *{escape(dependency)}* is failing: {escape(detail)}. "
        "Affected work is kept and retried automatically.",
    )


async def dependency_ok(services: Services, dependency: str) -> None:
    """A success: if an incident is open for the dependency, close it and say so once."""
    await clear_incident(
        services,
        dependency_incident(dependency),
        subject=dependency,
        text=f":white_check_mark: *{escape(dependency)}* has recovered; queued work is going out.",
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


async def clear_incident(services: Services, incident_id: str, *, subject: str, text: str) -> bool:
    """Close the incident if it is open; True if this call closed it (and posted ``text``).
    Cheap when nothing is open: it reads this replica's view of the open incidents."""
    if incident_id not in await services.incidents.current(services.store):
        return False
    entry = _entry(services, Action.RELIABILITY_RECOVERED, subject, "", Outcome.SUCCESS)
    closed = await services.store.close_incident(incident_id, now=services.clock(), log=entry)
    services.incidents.closed(incident_id)
    if closed is not None:
        await _post(services, text)
    return closed is not None


def _entry(
    services: Services, action: Action, subject: str, detail: str, outcome: Outcome
) -> LogEntry:
    return audit.entry(
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
