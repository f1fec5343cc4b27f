"""Sales Pulse: read the shop, evaluate the triggers, and alert, re-alert or clear.

One run reads the window the triggers need (today and the 7 days before, in the shop's time
zone), the paid orders still unfulfilled past the threshold, and the stock of the
top-selling SKUs (and of SKUs with an open low-stock alert, so those can clear). The run
lease of the ``sales-pulse`` job makes one replica do this per window.

Each trigger of `bot.rules.sales.TRIGGERS` is evaluated, and each condition alerted, on its
own: one that fails is logged and said once in the reliability channel, and the rest of the
run goes on. Only the
database being out of reach stops the run, which the job's own retry covers.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from bot.blocks.text import escape
from bot.domain import SalesAlert, Trigger
from bot.flows import sales_alerts, sales_outreach
from bot.flows.incidents import (
    chatwoot_failed,
    clear_incident,
    dependency_failed,
    dependency_ok,
    raise_incident,
)
from bot.integrations.chatwoot_answers import ChatwootError
from bot.rules import pulse as tile
from bot.rules.sales import TRIGGERS, Evaluation, SalesRead, delay_cutoff
from bot.rules.sales_days import Shop, top_skus, window_start
from bot.rules.sales_window import SalesWindow
from bot.services import Services
from bot.store.errors import first_line, unavailable

if TYPE_CHECKING:  # loaded with the client, when Shopify is configured (it brings httpx)
    from bot.integrations.shopify import ShopifyClient

log = logging.getLogger("occ.sales_pulse")

JOB = "sales-pulse"  # the job that runs `pulse` (bot.jobs), whose run lease `/occ pulse` takes too
LOW_STOCK = f"{Trigger.LOW_STOCK.value}:"  # a low-stock condition names its SKU after it
INCIDENT = "sales-pulse:"


async def pulse(services: Services) -> str:
    client = services.shopify
    if client is None:
        return "Shopify not configured: Sales Pulse off"
    from bot.integrations.shopify import ShopifyError, ShopifyThrottled

    requests, points = client.requests, client.points_spent
    open_alerts = {alert.condition: alert for alert in await services.store.open_sales_alerts()}
    try:
        read = await _evaluate(services, client, open_alerts)
    except ShopifyError as error:
        await services.store.record_read("shopify", at=services.clock(), error=error.detail)
        if error.transient:
            throttled = isinstance(error, ShopifyThrottled)
            await dependency_failed(services, "shopify", error.detail, rate_limited=throttled)
        raise
    await services.store.record_read("shopify", at=services.clock())
    await dependency_ok(services, "shopify")
    outcomes = await _follow_each(services, read, open_alerts)
    # The Sales Pulse tile, from what was just read: `/occ pulse` spends nothing of the shop's.
    await services.store.save_sales_snapshot(tile.snapshot(read.sales))
    said = ", ".join(f"{n} {what}" for what, n in sorted(outcomes.items()) if n) or "nothing new"
    reached = await _reach_delayed_customers(services, read.evaluations)
    return (
        f"{read.summary}; {client.requests - requests} Shopify requests, "
        f"{client.points_spent - points:g} cost points; {said}; {reached}"
    )


async def _reach_delayed_customers(services: Services, evaluations: list[Evaluation]) -> str:
    delay = next(
        (e for e in evaluations if e.condition == Trigger.FULFILLMENT_DELAY and e.finding), None
    )
    if delay is None or delay.finding is None or services.chatwoot is None:
        return "no customers to reach"
    alert = next(
        (a for a in await services.store.open_sales_alerts() if a.condition == delay.condition),
        None,
    )
    if alert is None:
        return "no customers to reach"
    try:
        notes, cards = await sales_outreach.reach_out(services, alert.id, delay.finding)
    except ChatwootError as error:
        await chatwoot_failed(services, error, "reaching delayed customers")
        return f"customers not reached yet (Chatwoot: {error})"
    await dependency_ok(services, "chatwoot")
    return f"{notes} conversations noted, {cards} proactive drafts offered"


async def _follow_each(
    services: Services, read: _Read, open_alerts: dict[str, SalesAlert]
) -> Counter[str]:
    """Alert, re-alert or clear each condition on its own; how many of each happened."""
    outcomes: Counter[str] = Counter(failed=len(read.failed))
    for name in read.evaluated:
        await _works(services, name)
    for name, error in read.failed:
        await _failed(services, name, error)
    for evaluation in read.evaluations:
        condition = evaluation.condition
        try:
            outcome = await sales_alerts.follow(services, evaluation, open_alerts.get(condition))
        except Exception as error:  # one condition must not silence the others
            if unavailable(error):
                raise  # the database: the job's retry covers the whole run
            await _failed(services, condition, error)
            outcomes["failed"] += 1
            continue
        await _works(services, condition)
        if outcome:
            outcomes[outcome] += 1
    return outcomes


async def _failed(services: Services, what: str, error: Exception) -> None:
    log.error("Sales Pulse: %s failed", what, exc_info=error)
    await raise_incident(
        services,
        INCIDENT + what,
        subject="sales-pulse",
        detail=f"{what}: {first_line(error)}",
        text=f":warning: Sales Pulse could not handle *{escape(what)}*: "
        f"{escape(first_line(error))}. The other triggers ran; this one is tried again on the "
        "next run.",
    )


async def _works(services: Services, what: str) -> None:
    await clear_incident(
        services,
        INCIDENT + what,
        subject="sales-pulse",
        text=f":white_check_mark: Sales Pulse handles *{escape(what)}* again.",
    )


@dataclass(frozen=True)
class _Read:
    sales: SalesRead  # what was read
    evaluations: list[Evaluation]
    summary: str  # what was read, for the job's log
    evaluated: list[str]  # the triggers evaluated
    failed: list[tuple[str, Exception]]  # the triggers that could not be, and why


def _each(
    sales: SalesRead, evaluators: dict[str, Callable[[], Sequence[Evaluation]]], summary: str
) -> _Read:
    """Run every evaluator, each on its own."""
    read = _Read(sales, [], summary, [], [])
    for name, evaluate in evaluators.items():
        try:
            read.evaluations.extend(evaluate())
        except Exception as error:  # one trigger must not silence the others
            read.failed.append((name, error))
        else:
            read.evaluated.append(name)
    return read


async def _evaluate(
    services: Services, client: ShopifyClient, open_alerts: dict[str, SalesAlert]
) -> _Read:
    from bot.integrations import shopify_reads as reads

    settings = services.settings
    rules = settings.sales_thresholds()
    now = services.clock()
    facts = await reads.shop_facts(client)
    shop = Shop(
        facts.timezone, admin_url(settings.shopify_shop or "", facts.domain), facts.currency
    )
    stats = reads.ReadStats()
    # Each order is counted in as it is read, and dropped: a run keeps no window of orders.
    window = SalesWindow(now, shop.timezone, delay_cutoff(now, rules))
    batches = await reads.order_batches_since(client, window_start(now, shop.timezone), stats=stats)
    async for batch in batches:
        window.add_all(batch)
    delayed, total = await reads.delayed_orders(client, delay_cutoff(now, rules))
    watched = [c.removeprefix(LOW_STOCK) for c in open_alerts if c.startswith(LOW_STOCK)]
    best = top_skus(window.sold_in_week, rules.top_skus)
    stocks = await reads.stock(client, [*best, *watched]) if best or watched else []
    how = "a bulk operation" if stats.bulk else "paging"
    late = len(delayed) if total is None else total
    read = SalesRead(now, shop, rules, window, delayed, total, stocks, best)
    return _each(
        read,
        {f"{spec.trigger.value} evaluation": partial(spec.evaluate, read) for spec in TRIGGERS},
        f"{window.orders} orders read by {how}, {late} delayed, {len(stocks)} SKUs",
    )


def admin_url(shop_setting: str, domain: str) -> str:
    """Shopify Admin for the configured shop: its myshopify domain's /admin (which Shopify
    sends on to admin.shopify.com), or the configured base URL's."""
    from bot.integrations.shopify import base_url

    configured = base_url(shop_setting)
    if configured.startswith("https://") and domain:
        return f"https://{domain}/admin"
    return f"{configured}/admin"
