"""Running jobs: once per window across replicas, on a schedule, and by hand."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.domain import JobRun, RunOutcome
from bot.flows import spooled
from bot.integrations.chatwoot_answers import ChatwootError
from bot.integrations.shopify import ShopifyError
from bot.jobs import JOBS, Job
from bot.services import Services
from bot.slack import SLACK_FAILURES
from bot.store.errors import first_line, unavailable

log = logging.getLogger("occ.jobs")

HISTORY = timedelta(days=1)  # how long finished runs are kept
DETAIL_MAX = 500
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def expected_failure(error: BaseException) -> bool:
    """A dependency that is down or refusing (Chatwoot, Shopify, Slack, the database), as
    opposed to a bug in the bot: the failure itself or what it was raised from."""
    cause: BaseException | None = error
    for _ in range(10):  # a chain of causes is short; bounded all the same
        if cause is None:
            return False
        if isinstance(cause, (ChatwootError, ShopifyError, *SLACK_FAILURES)) or unavailable(cause):
            return True
        cause = cause.__cause__
    return False


def log_failure(error: BaseException, what: str) -> None:
    """One line with the cause for a dependency that is down (on-call hears of it from its
    incident); the traceback for a bug."""
    if expected_failure(error):
        log.warning("%s: %s", what, first_line(error))
    else:
        log.exception("%s", what)


def window_start(now: datetime, every_seconds: float) -> datetime:
    """The start of the window ``now`` falls in: windows are ``every_seconds`` long, counted
    from the epoch, so every replica (give or take clock skew) names the same one."""
    windows = (now - _EPOCH).total_seconds() // every_seconds
    return _EPOCH + timedelta(seconds=windows * every_seconds)


async def run_once(services: Services, job: Job, *, by_hand: bool = False) -> JobRun | None:
    """Run ``job`` for the current window, unless another replica already has; by hand, it
    runs now whatever the window (its run is keyed by the time it started)."""
    now = services.clock()
    every = job.every_seconds(services.settings)
    window = now if by_hand else window_start(now, every)
    runner = f"{services.runner} (by hand)" if by_hand else services.runner
    run = JobRun(job=job.name, window_start=window, runner=runner, started_at=now)
    if not await services.store.start_run(run):
        return None
    try:
        detail, outcome = await job.run(services), RunOutcome.SUCCESS
    except Exception as error:
        log_failure(error, f"job {job.name} failed")
        detail, outcome = f"{type(error).__name__}: {error}", RunOutcome.FAILED
    finished = await services.store.finish_run(
        job.name,
        window,
        outcome=outcome,
        detail=detail[:DETAIL_MAX],
        finished_at=services.clock(),
    )
    await services.store.forget_runs(job.name, before=now - HISTORY)
    return finished


@dataclass(frozen=True)
class JobStatus:
    job: Job
    last: JobRun | None
    next_at: datetime | None  # None: at the next tick


async def statuses(services: Services) -> list[JobStatus]:
    found = []
    for job in JOBS.values():
        last = await services.store.last_run(job.name)
        every = job.every_seconds(services.settings)
        next_at = None
        if last is not None:
            next_at = window_start(last.window_start, every) + timedelta(seconds=every)
        found.append(JobStatus(job, last, next_at))
    return found


class Scheduler:
    """Ticks every job on its period; stopping waits for the runs under way."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        self._running: set[asyncio.Task[Any]] = set()

    def start(self) -> None:
        self._services.started_at = self._services.clock()
        for job in JOBS.values():
            self._scheduler.add_job(
                self._tick,
                "interval",
                args=[job],
                seconds=job.every_seconds(self._services.settings),
                id=job.name,
                max_instances=1,
                coalesce=True,
            )
        # Each replica replays its own spool: not a job (no run lease across replicas).
        self._scheduler.add_job(
            self._replay_spool,
            "interval",
            seconds=self._services.settings.job_tick_seconds,
            id="spool-replay",
            max_instances=1,
            coalesce=True,
        )
        self._scheduler.start()

    async def _replay_spool(self) -> None:
        await self._tracked(spooled.replay(self._services), "replaying the spool")

    async def _tick(self, job: Job) -> None:
        await self._tracked(run_once(self._services, job), f"running job {job.name}")

    async def _tracked(self, work: Awaitable[object], what: str) -> None:
        """Run ``work`` as a run `stop` waits for; a failure (the database down, say) is
        logged, and the next tick tries again."""
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            await work
        except Exception as error:
            log_failure(error, f"{what} failed; the next tick tries again")
        finally:
            self._running.discard(task)

    async def stop(self, timeout: float = 30.0) -> None:
        """No new runs; wait (bounded) for the ones under way."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        if self._running:
            _, pending = await asyncio.wait(list(self._running), timeout=timeout)
            for task in pending:
                log.warning("job still running at shutdown: %s", task.get_name())
