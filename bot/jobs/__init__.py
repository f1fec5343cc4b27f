"""Scheduled work: each job a plain async function of `services`; due work lives in the database.

Every tick of a job falls in a window (its period, aligned to the epoch). A run first takes
the ``job_runs`` row for its job and window with a conditional insert, so a job runs once per
window however many replicas tick; the items inside (a reply, a repost) are leased too. Each
run records its outcome, which `occ-bot jobs list` shows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.config import Settings
from bot.jobs import (
    cx_scan,
    digest,
    drafting,
    health,
    notes,
    outbox,
    reminders,
    replies,
    reposts,
    sales_followups,
    sales_pulse,
)
from bot.services import Services


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Services], Awaitable[str]]
    description: str
    every_seconds: Callable[[Settings], float]


def _tick(settings: Settings) -> float:
    return settings.job_tick_seconds


def _cx_scan_period(settings: Settings) -> float:
    return settings.cx_scan_minutes * 60


def _digest_period(settings: Settings) -> float:
    return 15 * 60  # it checks whether the digest is due; the week is taken once


def _sales_pulse_period(settings: Settings) -> float:
    return settings.sales_pulse_minutes * 60


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job(
            "drafting",
            drafting.run,
            "draft customers' messages whose drafting was lost in a restart or is being retried",
            _tick,
        ),
        Job(
            "replies",
            replies.run,
            "send approved replies that are queued or due for a retry",
            _tick,
        ),
        Job(
            "cx-scan",
            cx_scan.run,
            "card Chatwoot conversations whose customer has waited past the CX SLA, once each",
            _cx_scan_period,
        ),
        Job(
            "notes",
            notes.run,
            "add escalations' private notes to Chatwoot that are queued or due for a retry",
            _tick,
        ),
        Job(
            "outbox",
            outbox.run,
            "send managers' replies and resolution notes to Chatwoot that are due for a retry",
            _tick,
        ),
        Job(
            "reminders",
            reminders.run,
            "remind managers of unclaimed escalations past their SLA, up the escalation chain",
            _tick,
        ),
        Job(
            "sales-pulse",
            sales_pulse.run,
            "read Shopify and alert the sales channel when a Sales Pulse trigger is crossed",
            _sales_pulse_period,
        ),
        Job(
            "sales-followups",
            sales_followups.run,
            "remind owners of Sales Pulse follow-ups that are past their due date",
            _tick,
        ),
        Job(
            "digest",
            digest.run,
            "post the weekly digest on OCC_DIGEST_WEEKDAY from OCC_DIGEST_HOUR, once a week",
            _digest_period,
        ),
        Job(
            "health",
            health.run,
            "alert #occ-reliability on stale Shopify or Chatwoot data and on jobs that fell behind",
            _tick,
        ),
        Job(
            "reposts",
            reposts.run,
            "post cards, escalation messages and sales alerts that Slack refused earlier",
            _tick,
        ),
    )
}
