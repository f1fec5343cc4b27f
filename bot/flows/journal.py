"""Writing a decision_log row that survives the database being down, and this replica's
database alert.

`keep` writes the row, or, when the database cannot be reached, appends it to the
replica's spool (see `bot.flows.spooled`, which replays it: a log row's insert is
idempotent by its id).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from datetime import timedelta

from bot import audit, slack
from bot.blocks.text import escape, slack_date
from bot.domain import Action, LogEntry, Outcome, Scope
from bot.flows.alerts import FIRST_STEP
from bot.services import Services
from bot.store import codec
from bot.store.errors import unavailable

log = logging.getLogger("occ.spool")

MARKER = "occ_database"  # Slack message metadata on the database's alert and recovery
DOWN, UP = "down", "up"
LOOK_BACK = timedelta(days=7)  # an outage announced longer ago than this is announced again


async def keep(services: Services, entry: LogEntry) -> None:
    """Log ``entry``; while the database is down, keep it in the spool instead."""
    try:
        await services.store.log(entry)
    except Exception as error:
        if services.spool is None or not unavailable(error):
            raise
        services.spool.append({"id": entry.id, "log": codec.jsonable(codec.log_row(entry))})
        await database_down(services, error)


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
        await database_down(services, error)
        await slack.tell(
            services,
            channel=channel,
            user=user,
            text=f"The database cannot be reached right now, so your {what} was not recorded. "
            "Please try again in a minute.",
        )


async def replay_log(services: Services, row: dict) -> None:
    await services.store.log(codec.log_from_row(row))


async def database_down(services: Services, error: BaseException) -> None:
    """Alert that the database is unreachable, once per outage. The incidents table is what
    is out of reach, so the reliability channel itself is the shared state: a replica that
    finds the newest database message there is an alert says nothing more."""
    if services.database_down is not None:
        return
    now = services.clock()
    detail = f"{type(error).__name__}: {error}"[:300]
    services.database_down = (now, detail)
    if await _latest(services) == DOWN:
        return
    await _post(
        services,
        f":rotating_light: *database* is unreachable (first seen by `{services.runner}`) since "
        f"{slack_date(now)}. Last error: {escape(detail)}. Operators' decisions are kept "
        f"in each replica's spool and applied in order when it is back. {FIRST_STEP}",
        DOWN,
    )


async def database_back(services: Services, applied: int) -> None:
    """The database answers again: say so once (the first replica back), and log the
    outage's two rows."""
    assert services.database_down is not None
    since, detail = services.database_down
    services.database_down = None
    if await _latest(services) != DOWN:
        return  # another replica has said it (or this outage was never announced)
    for action, outcome, payload in (
        (Action.RELIABILITY_ALERT, Outcome.FAILED, {"since": since.isoformat()}),
        (Action.RELIABILITY_RECOVERED, Outcome.SUCCESS, {"replayed": applied}),
    ):
        await services.store.log(
            audit.entry(
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
    await _post(
        services,
        f":white_check_mark: *database* is reachable again (down since {slack_date(since)}); "
        f"`{services.runner}` applied {applied} queued decision(s) in order.",
        UP,
    )


async def _latest(services: Services) -> str | None:
    """The newest database message in the reliability channel: DOWN, UP or None."""
    try:
        return await slack.latest_marked(
            services,
            services.settings.reliability_channel,
            MARKER,
            since=services.clock() - LOOK_BACK,
        )
    except slack.SLACK_FAILURES as error:
        log.warning("could not read the reliability channel: %s", slack.describe(error))
        return None


async def _post(services: Services, text: str, state: str) -> None:
    try:
        await slack.post(
            services,
            services.settings.reliability_channel,
            text=text,
            metadata=slack.Metadata(MARKER, state),
        )
    except slack.SLACK_FAILURES as error:
        log.error("could not post the database alert: %s", slack.describe(error))
