"""The CX tile (`/occ cx`, the Home tab): the conversations whose customer has waited past
`OCC_CX_SLA_MINUTES` now, longest first.

It answers from what the bot already holds, not from a read of Chatwoot per question: every
customer Chatwoot's webhook brought and every breach the CX scan found is a draft, and a
draft nobody has decided (not answered or resolved in Chatwoot either: that retires it,
`bot.flows.chatwoot_work`) is a customer still waiting. So an answer is a few indexed reads
(`bot.store.customer_waits`) well inside Slack's 3 s, costs Chatwoot nothing, and says how
fresh it is: when the CX scan last read Chatwoot.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot import slack
from bot.blocks.cx import CxTile, chatwoot_freshness, cx_answer, cx_line
from bot.blocks.home import NOT_AN_OPERATOR
from bot.domain import CxWait
from bot.services import Services

LISTED = 10  # the longest waits `/occ cx` lists
HOME_LISTED = 3  # and the Home tab
CHATWOOT = "chatwoot"  # its name in data_sources (the CX scan's reads)


async def answer(services: Services, user: str) -> str:
    """`/occ cx`, for operators and managers (the waits name customers)."""
    if not services.settings.may_act_on_drafts(user):
        return NOT_AN_OPERATOR
    tile, sources = await asyncio.gather(cx_tile(services, LISTED), services.store.data_sources())
    settings = services.settings
    freshness = chatwoot_freshness(
        next((s for s in sources if s.name == CHATWOOT), None),
        services.clock(),
        configured=services.chatwoot is not None,
        stale_minutes=settings.data_stale_minutes,
    )
    return cx_answer(tile, freshness)


async def cx_tile(services: Services, listed: int) -> CxTile:
    """How many conversations are past the CX SLA now, and a line for each of the ``listed``
    longest waits."""
    now = services.clock()
    sla = services.settings.cx_sla_minutes
    waits = await services.store.cx_waits(now - timedelta(minutes=sla), listed)

    async def line(wait: CxWait) -> str:
        card = wait.draft.card
        link = await slack.permalink(services, card) if card else None
        return cx_line(wait, link, services.conversation_url(wait.conversation_id), now)

    lines = await asyncio.gather(*(line(wait) for wait in waits.longest))
    return CxTile(total=waits.total, lines=tuple(lines), sla_minutes=sla)
