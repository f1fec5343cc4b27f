"""Cards, escalation messages, Sales Pulse alerts and coaching notes that Slack refused
earlier, posted again (the `reposts` job): each batch runs even when another fails."""

from __future__ import annotations

import logging

from bot.flows.escalations import repost_escalations
from bot.flows.intake import repost_cards
from bot.flows.qa_verdicts import repost_notes
from bot.flows.sales_alerts import repost_alerts
from bot.services import Services

log = logging.getLogger("occ.jobs")


class RepostsFailed(Exception):
    """A whole batch failed (e.g. it could not be listed); the other batches still ran."""


async def repost_refused(services: Services) -> str:
    said: list[str] = []
    failed = False
    batches = (
        ("cards", repost_cards),
        ("escalations", repost_escalations),
        ("sales alerts", repost_alerts),
        ("coaching notes", repost_notes),
    )
    for noun, batch in batches:
        try:
            said.append((await batch(services)).describe(noun))
        except Exception:  # the other batches must still run
            log.exception("reposting %s failed", noun)
            said.append(f"{noun}: failed (see the log)")
            failed = True
    if failed:
        raise RepostsFailed("; ".join(said))
    return "; ".join(said)
