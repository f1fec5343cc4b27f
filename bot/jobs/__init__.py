"""Scheduled work: the registry of jobs, each naming the flow it runs; due work lives in the
database.

Every tick of a job falls in a window (its period, aligned to the epoch). A run first takes
the ``job_runs`` row for its job and window with a conditional insert, so a job runs once per
window however many replicas tick; the items inside (a reply, a repost) are leased too. Each
run records its outcome, which `occ-bot jobs list` shows. Running them is `runner.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.config import Settings
from bot.flows import (
    cx_scan,
    digest,
    drafting,
    health,
    outbox,
    reminder_lag,
    reminders,
    reposts,
    sales_alerts,
    sales_pulse,
)
from bot.runtime.batch import Tally
from bot.services import Services


@dataclass(frozen=True)
class Job:
    name: str
    flow: Callable[[Services], Awaitable[Any]]  # the flow function the job runs
    description: str
    every_seconds: Callable[[Settings], float]
    says: Callable[[Any], str] = str  # the run's recorded detail, from what the flow returned
    # How the `health` job tells this job has fallen behind, when "its last run started two
    # periods ago" would cry wolf (a reminders run working through a long burst is busy).
    lag_watch: Callable[[Services], Awaitable[str]] | None = None

    async def run(self, services: Services) -> str:
        return self.says(await self.flow(services))


def tried(noun: str) -> Callable[[Tally], str]:
    """A batch flow's tally as the run's detail: "3 replies tried, 1 failed (see the log)"."""
    return lambda tally: tally.describe(noun)


def _tick(settings: Settings) -> float:
    return settings.job_tick_seconds


def _cx_scan_period(settings: Settings) -> float:
    return settings.cx_scan_minutes * 60


def _digest_period(settings: Settings) -> float:
    return 15 * 60  # it checks whether the digest is due; the week is taken once


def _sales_pulse_period(settings: Settings) -> float:
    return settings.sales_pulse_minutes * 60


def periods(settings: Settings) -> dict[str, float]:
    """Every job's period in seconds, by name."""
    return {job.name: job.every_seconds(settings) for job in JOBS.values()}


async def _check_health(services: Services) -> str:
    # The health flow watches the jobs it is given (it may not import this registry); a job
    # with a lag watch of its own is watched by it instead.
    settings = services.settings
    own = {job.name: job.lag_watch for job in JOBS.values() if job.lag_watch is not None}
    scheduled = {name: every for name, every in periods(settings).items() if name not in own}
    said = [await health.check_health(services, scheduled, watched_elsewhere=tuple(own))]
    said += [await watch(services) for watch in own.values()]
    return "; ".join(said)


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job(
            "drafting",
            drafting.draft_waiting,
            "draft customers' messages whose drafting was lost in a restart or is being retried",
            _tick,
            says=tried("conversations"),
        ),
        Job(
            "cx-scan",
            cx_scan.scan,
            "card Chatwoot conversations whose customer has waited past the CX SLA, once each",
            _cx_scan_period,
        ),
        Job(
            "outbox",
            outbox.deliver_due,
            "send Chatwoot messages (replies, notes) that are queued or due for a retry",
            _tick,
            says=tried("outbox messages"),
        ),
        Job(
            "reminders",
            reminders.remind_and_repost,
            "remind managers of unclaimed escalations past their SLA, up the escalation chain",
            _tick,
            lag_watch=reminder_lag.watch,
        ),
        Job(
            sales_pulse.JOB,
            sales_pulse.pulse,
            "read Shopify and alert the sales channel when a Sales Pulse trigger is crossed",
            _sales_pulse_period,
        ),
        Job(
            "sales-followups",
            sales_alerts.remind_followups,
            "remind owners of Sales Pulse follow-ups that are past their due date",
            _tick,
            says=lambda reminded: f"{reminded} follow-up owners reminded",
        ),
        Job(
            "digest",
            digest.post_weekly,
            "post the weekly digest on OCC_DIGEST_WEEKDAY from OCC_DIGEST_HOUR, once a week",
            _digest_period,
        ),
        Job(
            "health",
            _check_health,
            "alert #occ-reliability on stale Shopify or Chatwoot data and on jobs that fell behind",
            _tick,
        ),
        Job(
            "reposts",
            reposts.repost_refused,
            "post cards, escalation messages, sales alerts and coaching notes that Slack refused "
            "earlier",
            _tick,
        ),
    )
}
