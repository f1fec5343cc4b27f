"""The `health` job: stale data and jobs that fell behind, each one incident for on-call.

Run once per tick across replicas, it reads what every replica recorded (each data source's
last good read, each job's last run) and opens or closes incidents; like a failing
dependency, each incident is one alert and one recovery in `OCC_RELIABILITY_CHANNEL`, saying
what is wrong, since when, the last error, and what to run first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.blocks.text import escape, slack_date
from bot.domain import SourceStatus
from bot.flows.incidents import FIRST_STEP, clear_incident, raise_incident
from bot.rules.health import behind, stale_since
from bot.services import Services

SOURCE_LABELS = {"shopify": "Shopify", "chatwoot": "Chatwoot"}


def stale_incident(source: str) -> str:
    return f"stale:{source}"


def behind_incident(job: str) -> str:
    return f"scheduler:{job}"


async def check_health(
    services: Services, periods: Mapping[str, float], *, watched_elsewhere: Sequence[str] = ()
) -> str:
    """Alert on stale data, and on any of the jobs in ``periods`` (name -> seconds between
    runs; the job registry passes its own) whose last run started too many periods ago. The
    jobs ``watched_elsewhere`` have a lag watch of their own: an incident this rule opened
    for one of them earlier is closed."""
    stale = await _freshness(services)
    late = await _scheduler(services, periods)
    for name in watched_elsewhere:
        await clear_incident(
            services,
            behind_incident(name),
            subject="scheduler",
            text=f":white_check_mark: The *{name}* job is watched by how late its work is now.",
        )
    return f"stale: {', '.join(stale) or 'none'}; behind: {', '.join(late) or 'none'}"


async def _freshness(services: Services) -> list[str]:
    settings = services.settings
    watched = {"shopify": settings.shopify_enabled, "chatwoot": settings.chatwoot_enabled}
    now = services.clock()
    stale = []
    for source in await services.store.data_sources():
        if not watched.get(source.name):
            continue
        since = stale_since(source, now, settings.data_stale_minutes)
        label = SOURCE_LABELS.get(source.name, source.name)
        if since is None:
            await clear_incident(
                services,
                stale_incident(source.name),
                subject=source.name,
                text=f":white_check_mark: *{label}* data is fresh again (read "
                f"{slack_date(source.last_ok_at or now)}).",
            )
            continue
        stale.append(source.name)
        await raise_incident(
            services,
            stale_incident(source.name),
            subject=source.name,
            detail=_last_error(source),
            text=f":hourglass: *{label}* data is stale: no successful read since "
            f"{slack_date(since)} (more than {settings.data_stale_minutes:g} min, "
            f"`OCC_DATA_STALE_MINUTES`). Last error: {escape(_last_error(source))}. "
            f"{FIRST_STEP}",
        )
    return stale


async def _scheduler(services: Services, periods: Mapping[str, float]) -> list[str]:
    now = services.clock()
    late = []
    for name, every in periods.items():
        last = await services.store.last_run(name)
        if last is None:
            continue  # never run yet: nothing to compare with
        incident = behind_incident(name)
        late_now = behind(last.started_at, now, every)
        just_started = services.started_at is not None and not behind(
            services.started_at, now, every
        )
        if late_now and just_started:
            continue  # give a replica that has just started two periods: neither alert nor clear
        if not late_now:
            await clear_incident(
                services,
                incident,
                subject="scheduler",
                text=f":white_check_mark: The *{name}* job is running on time again.",
            )
            continue
        late.append(name)
        outcome = f"{last.outcome.value}: {last.detail}" if last.detail else last.outcome.value
        await raise_incident(
            services,
            incident,
            subject="scheduler",
            detail=f"last run started {last.started_at.isoformat()}",
            text=f":snail: The *{name}* job has fallen behind: its last run started "
            f"{slack_date(last.started_at)}, and it should run every {every:g} s. Last run: "
            f"{escape(outcome[:300])}. {FIRST_STEP} Then `occ-bot jobs list`.",
        )
    return late


def _last_error(source: SourceStatus) -> str:
    if source.last_error is None:
        return "none recorded (no read was attempted)"
    return (
        f"{source.last_error} ({source.last_error_at.isoformat() if source.last_error_at else '?'})"
    )
