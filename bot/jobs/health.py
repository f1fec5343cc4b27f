"""The `health` job: alert on stale data and on jobs that fell behind, once per incident."""

from __future__ import annotations

from bot.services import Services


async def run(services: Services) -> str:
    from bot.flows.health import check_health  # it reads JOBS, which lists this job

    return await check_health(services)
