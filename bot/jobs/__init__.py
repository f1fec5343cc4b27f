"""Scheduled work: each job a plain async function of `services`; due work lives in the database.

Jobs are safe to run on several replicas at once: each item is taken with a compare-and-set
(a reply's lease, a reminder's count), so the scheduler only decides how often to look.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.jobs import replies, reposts
from bot.services import Services


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Services], Awaitable[str]]
    description: str
    every_seconds: Callable[[Services], float]


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job(
            "replies",
            replies.run,
            "send approved replies that are queued or due for a retry",
            lambda services: services.settings.job_tick_seconds,
        ),
        Job(
            "reposts",
            reposts.run,
            "post cards and escalation messages that Slack refused earlier",
            lambda services: services.settings.job_tick_seconds,
        ),
    )
}


def start_scheduler(services: Services) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    for job in JOBS.values():
        scheduler.add_job(
            job.run,
            "interval",
            args=[services],
            seconds=job.every_seconds(services),
            id=job.name,
            max_instances=1,
            coalesce=True,
        )
    scheduler.start()
    return scheduler
