"""Refused clicks: one `draft.refused` row and one message per user, however often they
clicked.

A refused click joins its user's group (`bot.runtime.refusals`); once the user has stopped
clicking for `QUIET_SECONDS` (or `LONGEST_SECONDS` after their first refused click, if they
never stop) the group is logged as one row whose payload counts the clicks (``clicks``,
``first_click_at``, ``last_click_at``), and the user is told why once.

Every click is still held in the spool's in-flight file before its acknowledgement leaves
(`bot.flows.spooled.accept`); a group's clicks are released only once its row is written
(or kept in the spool while the database is down). A process killed before then leaves
them in flight, and the replica that adopts them applies each again, so its refusal is
logged then: nothing acknowledged is lost, though such clicks come back as one row each.
"""

from __future__ import annotations

import asyncio
import logging
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

from bot import decision_log
from bot.domain import Action, Draft, Outcome
from bot.flows import database_down
from bot.runtime.refusals import Full, Group
from bot.services import Services
from bot.slack import tell

log = logging.getLogger("occ.refusals")

QUIET_SECONDS = 0.5  # the user has stopped clicking
LONGEST_SECONDS = 3.0  # a user who never stops still hears back


@dataclass
class Click:
    """An acknowledged click being decided: its in-flight id ('' without a spool) and when
    it was made. ``joined`` once its refusal is in a group, which then releases it."""

    id: str
    at: datetime
    joined: bool = False


# The click the current task is deciding (set by `bot.flows.spooled`): a refusal of it joins
# its user's group rather than being logged at once. Replayed decisions have none.
CLICK: ContextVar[Click | None] = ContextVar("occ_refused_click", default=None)


def join(
    services: Services, draft: Draft, user: str, attempted: str, why: str, *, click: Click
) -> bool:
    """Add ``click``'s refusal to its group; False when there is no room (the caller logs
    and tells it on its own)."""
    pending = services.refusals
    try:
        group = pending.join(
            draft,
            user,
            attempted,
            why,
            at=click.at,
            now=asyncio.get_running_loop().time(),
            held=click.id,
        )
    except Full:
        if pending.overflowed == 1:
            log.warning(
                "%d groups of refused clicks waiting: refusals logged one by one", len(pending)
            )
        return False
    click.joined = True
    if group is not None:
        services.background.spawn_now(_flush_when_quiet(services, group), name="refusals")
    return True


async def _flush_when_quiet(services: Services, group: Group) -> None:
    loop = asyncio.get_running_loop()
    while (
        wait := min(group.touched + QUIET_SECONDS, group.opened + LONGEST_SECONDS) - loop.time()
    ) > 0:
        await asyncio.sleep(wait)
    services.refusals.take(group.key)
    await flush(services, group)


async def flush(services: Services, group: Group) -> None:
    """Log the group's one row, release its clicks from flight, then tell its user (a crash
    before that loses the message, not the row)."""
    overflowed, services.refusals.overflowed = services.refusals.overflowed, 0
    if overflowed:
        log.warning("%d refused clicks were logged one by one: no room for their group", overflowed)
    draft = group.draft
    payload = {
        "attempted": group.attempted,
        "reason": group.reason,
        "state": draft.state.value,
        "clicks": group.clicks,
        "first_click_at": group.first_at.isoformat(),
        "last_click_at": group.last_at.isoformat(),
    }
    entry = decision_log.draft_entry(
        services, Action.DRAFT_REFUSED, draft, payload, actor=group.user, outcome=Outcome.REFUSED
    )
    await database_down.keep(services, entry)
    if services.spool is not None and group.held:  # logged: a crash now must not log them twice
        try:
            services.spool.release_many(group.held)
        except OSError as error:
            log.warning("%d refused clicks not released from flight: %s", len(group.held), error)
    channel = draft.card.channel if draft.card else None
    await tell(services, channel=channel, user=group.user, text=group.reason)
