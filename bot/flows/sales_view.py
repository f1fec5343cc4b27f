"""A Sales Pulse alert's message, redrawn from the alert as stored (by `bot.flows.surfaces`,
the one path that redraws Slack)."""

from __future__ import annotations

from bot import slack
from bot.blocks import sales as blocks
from bot.domain import Finding, SalesAlert
from bot.services import Services


async def redraw(services: Services, alert_id: str) -> None:
    alert = await services.store.get_sales_alert(alert_id)
    if alert is None or alert.message is None:
        return
    previous = await previous_finding(services, alert)
    await slack.update(
        services,
        alert.message,
        text=blocks.alert_text(alert, previous),
        blocks=blocks.alert_blocks(alert, previous),
        what=f"sales alert {alert.id}",
    )


async def previous_finding(services: Services, alert: SalesAlert) -> Finding | None:
    """What the alert this one superseded found, for "markedly worse than…"."""
    if alert.supersedes is None:
        return None
    earlier = await services.store.get_sales_alert(alert.supersedes)
    return earlier.finding if earlier else None
