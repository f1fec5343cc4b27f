"""The queue at a glance on the Home tab: drawn when someone opens it, and redrawn after each
of their decisions (debounced, `OCC_HOME_REFRESH_SECONDS`)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from bot import slack
from bot.blocks.home import home_view
from bot.blocks.queue import waiting_line
from bot.domain import Draft
from bot.services import Services

HOME_LISTED = 10  # the oldest waiting drafts the Home tab lists


async def publish_home(services: Services, user: str) -> None:
    now = services.clock()
    summary = await services.store.queue_summary(now)
    oldest = await services.store.waiting_drafts(HOME_LISTED)
    view = home_view(
        summary,
        now,
        waiting=await waiting_lines(services, oldest, now),
        approvals_channel=services.settings.approvals_channel,
    )
    await slack.publish_home(services, user, view)


def refresh_home_soon(services: Services, user: str) -> None:
    """Redraw ``user``'s Home tab once their run of decisions pauses."""
    services.background.spawn_after_quiet(
        f"home-{user}",
        services.settings.home_refresh_seconds,
        lambda: publish_home(services, user),
        name=f"home-{user}",
    )


async def waiting_lines(services: Services, drafts: Sequence[Draft], now: datetime) -> list[str]:
    """A line per waiting draft, linking to its card where Slack gives a link."""

    async def link(draft: Draft) -> str | None:
        return await slack.permalink(services, draft.card) if draft.card else None

    links = await asyncio.gather(*(link(draft) for draft in drafts))
    return [waiting_line(draft, found, now) for draft, found in zip(drafts, links, strict=True)]
