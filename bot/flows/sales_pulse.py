"""Sales Pulse: read the shop, evaluate the triggers, and alert, re-alert or clear.

One run reads the window the triggers need (today and the 7 days before, in the shop's time
zone), the paid orders still unfulfilled past the threshold, and the stock of the
top-selling SKUs (and of SKUs with an open low-stock alert, so those can clear). The run
lease of the ``sales-pulse`` job makes one replica do this per window.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from bot.domain import SalesAlert, Trigger
from bot.flows import sales_alerts, sales_outreach
from bot.flows.alerts import chatwoot_failed, dependency_failed, dependency_ok
from bot.integrations import shopify_reads as reads
from bot.integrations.chatwoot import ChatwootError
from bot.integrations.shopify import ShopifyClient, ShopifyError, ShopifyThrottled, base_url
from bot.rules.sales import (
    Evaluation,
    Shop,
    delay_cutoff,
    evaluate_delays,
    evaluate_stock,
    evaluate_today,
    top_skus,
    window_start,
)
from bot.services import Services

LOW_STOCK = "low_stock:"


async def pulse(services: Services) -> str:
    client = services.shopify
    if client is None:
        return "Shopify not configured: Sales Pulse off"
    requests, points = client.requests, client.points_spent
    open_alerts = {alert.condition: alert for alert in await services.store.open_sales_alerts()}
    try:
        evaluations, read = await _evaluate(services, client, open_alerts)
    except ShopifyError as error:
        await services.store.record_read("shopify", at=services.clock(), error=error.detail)
        if error.transient:
            throttled = isinstance(error, ShopifyThrottled)
            await dependency_failed(services, "shopify", error.detail, rate_limited=throttled)
        raise
    await services.store.record_read("shopify", at=services.clock())
    await dependency_ok(services, "shopify")
    outcomes: Counter[str] = Counter()
    for evaluation in evaluations:
        outcome = await sales_alerts.follow(
            services, evaluation, open_alerts.get(evaluation.condition)
        )
        if outcome:
            outcomes[outcome] += 1
    said = ", ".join(f"{n} {what}" for what, n in sorted(outcomes.items())) or "nothing new"
    reached = await _reach_delayed_customers(services, evaluations)
    return (
        f"{read}; {client.requests - requests} Shopify requests, "
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


async def _evaluate(
    services: Services, client: ShopifyClient, open_alerts: dict[str, SalesAlert]
) -> tuple[list[Evaluation], str]:
    settings = services.settings
    rules = settings.sales_thresholds()
    now = services.clock()
    facts = await reads.shop_facts(client)
    shop = Shop(
        facts.timezone, admin_url(settings.shopify_shop or "", facts.domain), facts.currency
    )
    stats = reads.ReadStats()
    orders = await reads.orders_since(client, window_start(now, shop.timezone, rules), stats=stats)
    delayed, total = await reads.delayed_orders(client, delay_cutoff(now, rules))
    watched = [c.removeprefix(LOW_STOCK) for c in open_alerts if c.startswith(LOW_STOCK)]
    best = top_skus(orders, now - timedelta(days=rules.baseline_days), rules.top_skus)
    stocks = await reads.stock(client, [*best, *watched]) if best or watched else []
    evaluations = [
        *evaluate_today(orders, now, shop, rules),
        evaluate_delays(delayed, total, now, shop, rules),
        *evaluate_stock(orders, stocks, now, shop, rules),
    ]
    how = "a bulk operation" if stats.bulk else "paging"
    late = len(delayed) if total is None else total
    return evaluations, f"{stats.orders} orders read by {how}, {late} delayed, {len(stocks)} SKUs"


def admin_url(shop_setting: str, domain: str) -> str:
    """Shopify Admin for the configured shop: its myshopify domain's /admin (which Shopify
    sends on to admin.shopify.com), or the configured base URL's."""
    configured = base_url(shop_setting)
    if configured.startswith("https://") and domain:
        return f"https://{domain}/admin"
    return f"{configured}/admin"
