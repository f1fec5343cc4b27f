"""The `reposts` job: cards and escalation messages that Slack refused earlier."""

from __future__ import annotations

import logging

from bot.flows.escalations import repost_escalations
from bot.flows.intake import repost_cards
from bot.services import Services

log = logging.getLogger("occ.jobs")


class RepostsFailed(Exception):
    """A whole batch failed (e.g. it could not be listed); the other batch still ran."""


async def run(services: Services) -> str:
    said: list[str] = []
    failed = False
    for noun, batch in (("cards", repost_cards), ("escalations", repost_escalations)):
        try:
            said.append((await batch(services)).describe(noun))
        except Exception:  # the other batch must still run
            log.exception("reposting %s failed", noun)
            said.append(f"{noun}: failed (see the log)")
            failed = True
    if failed:
        raise RepostsFailed("; ".join(said))
    return "; ".join(said)
