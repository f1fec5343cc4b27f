"""Reliability alerts: one to #occ-reliability when a dependency starts failing, one when it
recovers."""

from __future__ import annotations

import logging

from bot.domain import Action, LogEntry, Outcome, Scope
from bot.runtime.reliability import Transition
from bot.services import Services
from bot.slack import SLACK_FAILURES, describe

log = logging.getLogger("occ.alerts")


async def dependency_failed(services: Services, dependency: str, detail: str) -> None:
    """First failure of a streak: alert reliability on-call once."""
    if services.health.failed(dependency, services.clock()) is not Transition.WENT_DOWN:
        return
    await _reliability(services, Action.RELIABILITY_ALERT, dependency, detail, Outcome.FAILED)


async def dependency_ok(services: Services, dependency: str) -> None:
    if services.health.succeeded(dependency) is not Transition.RECOVERED:
        return
    await _reliability(services, Action.RELIABILITY_RECOVERED, dependency, "", Outcome.SUCCESS)


async def _reliability(
    services: Services, action: Action, dependency: str, detail: str, outcome: Outcome
) -> None:
    if action is Action.RELIABILITY_ALERT:
        text = (
            f":rotating_light: *{dependency}* is failing: {detail}. "
            "Affected work is kept and retried automatically."
        )
    else:
        text = f":white_check_mark: *{dependency}* has recovered; queued work is going out."
    posted = True
    try:
        await services.slack.chat_postMessage(
            channel=services.settings.reliability_channel, text=text
        )
    except SLACK_FAILURES as error:
        posted = False
        log.error("could not post reliability alert: %s", describe(error))
    await services.store.log(
        LogEntry(
            id=services.new_id("log"),
            created_at=services.clock(),
            actor="system",
            action=action,
            scope=Scope.RELIABILITY,
            subject_id=dependency,
            conversation_id=None,
            payload={"dependency": dependency, "detail": detail, "posted_to_slack": posted},
            outcome=outcome,
        )
    )
