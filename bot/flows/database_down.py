"""Writing a decision_log row that survives the database being down, and the database's own
alert and recovery (once across replicas).

`keep` writes the row, or, when the database cannot be reached, appends it to the
replica's spool (see `bot.flows.spooled`, which replays it: a log row's insert is
idempotent by its id).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta

from bot import decision_log, slack
from bot.blocks.text import escape, slack_date
from bot.domain import Action, JobRun, LogEntry, Outcome, RunOutcome, Scope, SlackRef
from bot.flows.incidents import FIRST_STEP
from bot.services import Services
from bot.store.codec import jsonable
from bot.store.decision_log import log_from_row, log_row
from bot.store.errors import first_line, unavailable

log = logging.getLogger("occ.spool")

MARKER = "occ_database"  # Slack message metadata on the database's alert and recovery
DOWN, UP = "down", "up"
LOOK_BACK = timedelta(days=7)  # an outage announced longer ago than this is announced again
RECOVERY_JOB = "database-recovery"  # job_runs row: one replica posts an outage's recovery


async def keep(services: Services, entry: LogEntry) -> None:
    """Log ``entry``; while the database is down, keep it in the spool instead."""
    try:
        await services.store.log(entry)
    except Exception as error:
        if services.spool is None or not unavailable(error):
            raise
        services.spool.append({"id": entry.id, "log": jsonable(log_row(entry))})
        await alert(services, error)


async def or_tell(
    services: Services, work: Awaitable[object], *, user: str, channel: str | None, what: str
) -> None:
    """Run ``work``; if the database cannot be reached, tell ``user`` their ``what`` was not
    recorded (only drafts' decisions are kept in the spool) and alert once."""
    try:
        await work
    except Exception as error:
        if not unavailable(error):
            raise
        await alert(services, error)
        await slack.tell(
            services,
            channel=channel,
            user=user,
            text=f"The database cannot be reached right now, so your {what} was not recorded. "
            "Please try again in a minute.",
        )


async def replay_log(services: Services, row: dict) -> None:
    await services.store.log(log_from_row(row))


async def alert(services: Services, error: BaseException) -> None:
    """Alert that the database is unreachable, once per outage across replicas. The incidents
    table is what is out of reach, so the reliability channel is the shared state: each alert
    and recovery carries Slack metadata; a replica whose newest database message there is an
    alert says nothing, and one that finds an earlier alert right after posting its own
    deletes its own."""
    if services.database_down is not None:
        return
    now = services.clock()
    detail = first_line(error)
    services.database_down = (now, detail)
    known = await _markers(services)
    if known and known[0][0] == DOWN:
        return
    ours = await _post(
        services,
        f":rotating_light: *database* is unreachable (first seen by `{services.runner}`) since "
        f"{slack_date(now)}. Last error: {escape(detail)}. Operators' decisions are kept "
        f"in each replica's spool and applied in order when it is back. {FIRST_STEP}",
        DOWN,
    )
    if ours is None:
        return
    outage = _current_outage(await _markers(services) or [])
    if outage and outage[-1] != ours.ts:  # another replica announced it first
        await slack.delete(services, ours, what="a second database alert")


async def recovered(services: Services, applied: int) -> bool:
    """The database answers again: the first replica to take the outage's recovery (a run
    lease keyed by its alert, in the database now back) posts it and logs the outage's two
    rows. False if Slack could not be read: the next tick tries again."""
    assert services.database_down is not None
    since, detail = services.database_down
    known = await _markers(services)
    if known is None:
        return False
    outage = _current_outage(known)
    if not outage:  # never announced here, or already recovered by another replica
        services.database_down = None
        return True
    alert_ts = outage[-1]
    lease = JobRun(
        job=RECOVERY_JOB,
        window_start=datetime.fromtimestamp(float(alert_ts), UTC),
        runner=services.runner,
        started_at=services.clock(),
    )
    if await services.store.start_run(lease):
        await _log_outage(services, since, detail, applied)
        await _post(
            services,
            f":white_check_mark: *database* is reachable again (down since "
            f"{slack_date(since)}); `{services.runner}` applied {applied} queued decision(s) "
            "in order.",
            UP,
        )
        await services.store.finish_run(
            RECOVERY_JOB,
            lease.window_start,
            outcome=RunOutcome.SUCCESS,
            detail="recovery posted",
            finished_at=services.clock(),
        )
    services.database_down = None
    return True


def _current_outage(known: list[tuple[str, str]]) -> list[str]:
    """The ts of the alerts since the newest recovery, newest first."""
    outage = []
    for state, ts in known:
        if state != DOWN:
            break
        outage.append(ts)
    return outage


async def _markers(services: Services) -> list[tuple[str, str]] | None:
    """The database messages in the reliability channel, newest first; None if unreadable."""
    try:
        return await slack.marked(
            services,
            services.settings.reliability_channel,
            MARKER,
            since=services.clock() - LOOK_BACK,
        )
    except slack.SLACK_FAILURES as error:
        log.warning("could not read the reliability channel: %s", slack.describe(error))
        return None


async def _log_outage(services: Services, since: datetime, detail: str, applied: int) -> None:
    for action, outcome, payload in (
        (Action.RELIABILITY_ALERT, Outcome.FAILED, {"since": since.isoformat()}),
        (Action.RELIABILITY_RECOVERED, Outcome.SUCCESS, {"replayed": applied}),
    ):
        await services.store.log(
            decision_log.entry(
                services,
                action,
                subject_id="database",
                conversation_id=None,
                payload={"dependency": "database", "detail": detail, "replica": services.runner}
                | payload,
                outcome=outcome,
                scope=Scope.RELIABILITY,
            )
        )


async def _post(services: Services, text: str, state: str) -> SlackRef | None:
    try:
        return await slack.post(
            services,
            services.settings.reliability_channel,
            text=text,
            metadata=slack.Metadata(MARKER, state),
        )
    except slack.SLACK_FAILURES as error:
        log.error("could not post the database alert: %s", slack.describe(error))
        return None
