"""Running jobs: once per window across replicas, on a schedule, and by hand."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.domain import JobRun
from bot.flows import spooled
from bot.flows.runs import log_failure, run_in_window, window_start
from bot.jobs import JOBS, Job
from bot.services import Services

log = logging.getLogger("occ.jobs")

__all__ = ["Scheduler", "run_once", "statuses", "window_start"]  # window_start: bot.flows.runs


async def run_once(services: Services, job: Job, *, by_hand: bool = False) -> JobRun | None:
    """Run ``job`` for the current window, unless another replica already has; by hand, it
    runs now whatever the window (its run is keyed by the time it started)."""
    every = job.every_seconds(services.settings)
    return await run_in_window(
        services, job.name, every, lambda: job.run(services), by_hand=by_hand
    )


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
        """No new runs; wait (bounded) for the ones under way, then shut the scheduler down
        (APScheduler's shutdown cancels the runs it started, so it comes last)."""
        if self._scheduler.running:
            self._scheduler.pause()
        if self._running:
            _, pending = await asyncio.wait(list(self._running), timeout=timeout)
            for task in pending:
                log.warning("job still running at shutdown: %s", task.get_name())
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
