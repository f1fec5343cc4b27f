"""Reliability alerts: one to #occ-reliability when a dependency starts failing, one when it
recovers, however many replicas see it.

Opening and closing the incident is one conditional write with its log row; only the
replica whose write wins posts to Slack.
"""

from __future__ import annotations

import logging

from bot import audit
from bot.blocks.text import escape
from bot.domain import Action, Incident, Outcome, Scope
from bot.runtime.reliability import dependency_incident
from bot.services import Services
from bot.slack import SLACK_FAILURES, describe

log = logging.getLogger("occ.alerts")


async def dependency_failed(services: Services, dependency: str, detail: str) -> None:
    """First failure of a streak: alert reliability on-call once."""
    incident_id = dependency_incident(dependency)
    if services.incidents.known_open(incident_id):
        return
    incident = Incident(
        id=incident_id, scope=Scope.RELIABILITY, opened_at=services.clock(), detail=detail
    )
    entry = _entry(services, Action.RELIABILITY_ALERT, dependency, detail, Outcome.FAILED)
    opened = await services.store.open_incident(incident, entry)
    services.incidents.opened(opened or incident)
    if opened is not None:
        await _post(
            services,
            f":rotating_light: *{escape(dependency)}* is failing: {escape(detail)}. "
            "Affected work is kept and retried automatically.",
        )


async def dependency_ok(services: Services, dependency: str) -> None:
    """A success: if an incident is open for the dependency, close it and say so once."""
    incident_id = dependency_incident(dependency)
    if incident_id not in await services.incidents.current(services.store):
        return
    entry = _entry(services, Action.RELIABILITY_RECOVERED, dependency, "", Outcome.SUCCESS)
    closed = await services.store.close_incident(incident_id, now=services.clock(), log=entry)
    services.incidents.closed(incident_id)
    if closed is not None:
        await _post(
            services,
            f":white_check_mark: *{escape(dependency)}* has recovered; queued work is going out.",
        )


def _entry(services: Services, action: Action, dependency: str, detail: str, outcome: Outcome):
    return audit.entry(
        services,
        action,
        subject_id=dependency,
        conversation_id=None,
        payload={"dependency": dependency, "detail": detail},
        outcome=outcome,
        scope=Scope.RELIABILITY,
    )


async def _post(services: Services, text: str) -> None:
    try:
        await services.slack.chat_postMessage(
            channel=services.settings.reliability_channel, text=text
        )
    except SLACK_FAILURES as error:  # the incident and its log row are stored; /healthz shows it
        log.error("could not post reliability alert: %s", describe(error))
