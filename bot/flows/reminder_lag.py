"""Reminders falling behind their due times: one reliability incident, raised only when a
reminder waits longer than a reminder period, and resolved once they have caught up.

A burst of reminders into one channel goes out at Slack's posting rate (about one a second),
so the last of 1,000 is posted some 17 minutes after it fell due, and a planned burst may
meet 429s for minutes: neither is an outage. What managers would notice is a reminder so late
that the next one of an Urgent escalation is due already. So the "period" is the shortest
reminder interval: a reminder of an unclaimed escalation is repeated every SLA period of its
urgency (`bot.rules.chain.next_reminder_at`), and the shortest of those is
`OCC_SLA_MINUTES_URGENT` (15 minutes by default; the smallest of the three if set otherwise).

The `health` job runs this instead of its "last run started two periods ago" rule for the
`reminders` job: a run working through a long burst is busy, not behind, and a scheduler
that stopped is caught here too, as soon as a reminder it should have posted is a period late.
"""

from __future__ import annotations

from datetime import timedelta

from bot.blocks.text import slack_date
from bot.flows.incidents import FIRST_STEP, clear_incident, raise_incident
from bot.services import Services

INCIDENT = "reminders-behind"


def period(services: Services) -> timedelta:
    """How late a reminder may be before on-call is told: the shortest reminder interval."""
    return timedelta(minutes=min(services.settings.sla_minutes.values()))


async def watch(services: Services) -> str:
    """Raise the incident when the oldest reminder not yet in Slack is more than a period
    past its due time; resolve it once none is. Says how far behind reminders are."""
    now = services.clock()
    oldest = await services.store.oldest_waiting_reminder(now)
    behind = now - oldest if oldest is not None else timedelta(0)
    allowed = period(services)
    if behind <= allowed:
        await clear_incident(
            services,
            INCIDENT,
            subject="reminders",
            text=":white_check_mark: Escalation reminders have caught up with their due times.",
        )
        return f"reminders behind by {round(behind.total_seconds())} s"
    minutes = round(behind.total_seconds() / 60)
    await raise_incident(
        services,
        INCIDENT,
        subject="reminders",
        detail=f"oldest waiting reminder due {oldest.isoformat() if oldest else '?'}",
        text=f":snail: Escalation reminders are {minutes} min behind: one due "
        f"{slack_date(oldest or now)} is not in Slack yet, more than a reminder period "
        f"({allowed.total_seconds() / 60:g} min, the shortest `OCC_SLA_MINUTES_*`) late. "
        f"Slack may be rate-limiting a burst, or the `reminders` job is not running. "
        f"{FIRST_STEP} Then `occ-bot jobs list`.",
    )
    return f"reminders behind by {round(behind.total_seconds())} s (incident)"
