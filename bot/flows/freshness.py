"""When each data source the bot reads (Shopify, Chatwoot) was last read, as the Home tab and
`/occ pulse` show it: from what every replica recorded (`bot.store.data_sources`), red once
older than `OCC_DATA_STALE_MINUTES` (when the `health` job alerts on-call)."""

from __future__ import annotations

from datetime import datetime

from bot.blocks.pulse import freshness
from bot.services import Services


async def source_lines(services: Services, now: datetime) -> list[str]:
    """A line per source this bot is configured to read."""
    known = {source.name: source for source in await services.store.data_sources()}
    configured = (("shopify", services.shopify), ("chatwoot", services.chatwoot))
    return [
        freshness(name, known.get(name), now, services.settings.data_stale_minutes)
        for name, client in configured
        if client is not None
    ]
