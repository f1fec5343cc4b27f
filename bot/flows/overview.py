"""The queue at a glance on the Home tab, with its tiles (Sales Pulse from its last snapshot,
the CX breaches now, each data source's freshness): drawn when someone opens it, and redrawn
after each of their decisions (debounced, `OCC_HOME_REFRESH_SECONDS`)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from bot import slack
from bot.blocks.cx import cx_summary
from bot.blocks.home import Numbers, escalation_line, home_view, outsider_home_view
from bot.blocks.pulse import OFF, glance_text
from bot.blocks.queue import waiting_line
from bot.domain import Draft, Escalation
from bot.flows.cx_tile import HOME_LISTED as CX_LISTED
from bot.flows.cx_tile import cx_tile
from bot.flows.freshness import source_lines
from bot.rules.periods import period_start
from bot.services import Services

HOME_LISTED = 10  # the oldest waiting drafts the Home tab lists


async def publish_home(services: Services, user: str) -> None:
    store, settings = services.store, services.settings
    if not settings.may_act_on_drafts(user):
        await slack.views_publish(services, user, outsider_home_view())
        return
    now = services.clock()
    today = period_start("today", now, settings.zone)
    week = period_start("week", now, settings.zone)
    summary, oldest, tiles, *stats = await asyncio.gather(
        store.queue_summary(now),
        store.waiting_drafts(HOME_LISTED),
        home_tiles(services, now),
        store.decision_stats(since=today, until=now, actor=user),
        store.decision_stats(since=week, until=now, actor=user),
        store.decision_stats(since=today, until=now),
        store.decision_stats(since=week, until=now),
    )
    escalations = None
    if settings.is_manager(user):
        escalations = await escalation_lines(services, await store.open_escalations(HOME_LISTED))
    view = home_view(
        summary,
        now,
        waiting=await waiting_lines(services, oldest, now),
        numbers=Numbers(*stats),
        escalations=escalations,
        tiles=tiles,
        approvals_channel=settings.approvals_channel,
    )
    await slack.views_publish(services, user, view)


async def home_tiles(services: Services, now: datetime) -> list[str]:
    """Sales Pulse at a glance (from its last snapshot: nothing is read from Shopify), the CX
    breaches now (from the waiting drafts: nothing is read from Chatwoot), and when each data
    source was last read."""
    store = services.store
    snapshot, alerts, cx, read = await asyncio.gather(
        store.sales_snapshot(),
        store.open_sales_alerts(),
        cx_tile(services, CX_LISTED),
        source_lines(services, now),
    )
    pulse = OFF if services.shopify is None else glance_text(snapshot, now, open_alerts=len(alerts))
    breaches = f"*CX breaches now*\n{cx_summary(cx)}"
    return [pulse, breaches, "*Data sources*\n" + "\n".join(read)] if read else [pulse, breaches]


def refresh_home_soon(services: Services, user: str) -> None:
    """Redraw ``user``'s Home tab once their run of decisions pauses."""
    services.background.spawn_after_quiet(
        f"home-{user}",
        services.settings.home_refresh_seconds,
        lambda: publish_home(services, user),
        name=f"home-{user}",
    )


async def escalation_lines(services: Services, escalations: Sequence[Escalation]) -> list[str]:
    """A line per open escalation: what, how urgent, when due, who claimed it."""

    async def link(escalation: Escalation) -> str | None:
        return await slack.permalink(services, escalation.message) if escalation.message else None

    links = await asyncio.gather(*(link(e) for e in escalations))
    return [escalation_line(e, found) for e, found in zip(escalations, links, strict=True)]


async def waiting_lines(services: Services, drafts: Sequence[Draft], now: datetime) -> list[str]:
    """A line per waiting draft, linking to its card where Slack gives a link."""

    async def link(draft: Draft) -> str | None:
        return await slack.permalink(services, draft.card) if draft.card else None

    links = await asyncio.gather(*(link(draft) for draft in drafts))
    return [waiting_line(draft, found, now) for draft, found in zip(drafts, links, strict=True)]
