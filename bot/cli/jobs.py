"""`occ-bot jobs list` and `occ-bot jobs run NAME`."""

from __future__ import annotations

from datetime import datetime
from typing import TextIO

from bot.config import Settings
from bot.domain import RunOutcome
from bot.jobs import JOBS
from bot.jobs.runner import run_once, statuses
from bot.services import build_services


def _when(moment: datetime | None) -> str:
    return "at the next tick" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%SZ")


async def list_jobs(settings: Settings, out: TextIO) -> int:
    """Each job: what it does, how often, its last run (window, who, outcome) and its next."""
    services = await build_services(settings)
    try:
        await services.store.migrate()
        for status in await statuses(services):
            job, last = status.job, status.last
            every = job.every_seconds(settings)
            out.write(f"{job.name}: {job.description} (every {every:g} s)\n")
            if last is None:
                out.write("  last run: never\n")
            else:
                finished = "" if last.finished_at is None else f", ended {_when(last.finished_at)}"
                out.write(
                    f"  last run: {last.outcome.value} for the window from "
                    f"{_when(last.window_start)} on {last.runner}{finished}"
                    + (f": {last.detail}" if last.detail else "")
                    + "\n"
                )
            out.write(f"  next run: {_when(status.next_at)}\n")
    finally:
        await services.aclose()
    return 0


async def run_job(settings: Settings, name: str, out: TextIO, err: TextIO) -> int:
    """Run one job now; exit 1 if it failed."""
    job = JOBS.get(name)
    if job is None:
        err.write(f"unknown job {name!r}; known: {', '.join(JOBS)}\n")
        return 2
    services = await build_services(settings)
    try:
        await services.store.migrate()
        run = await run_once(services, job, by_hand=True)
    finally:
        await services.aclose()
    if run is None:  # two runs by hand in the same microsecond
        err.write(f"{name}: another run started at the same moment; nothing done\n")
        return 1
    out.write(f"{name}: {run.outcome.value}: {run.detail}\n")
    return 0 if run.outcome is RunOutcome.SUCCESS else 1
