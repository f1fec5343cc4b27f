"""The Sales Pulse tile as text: in full for `/occ pulse`, at a glance for the Home tab; and
each data source's freshness ("Shopify read 3 min ago", red once stale)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.blocks import text as t
from bot.domain import PulseSku, PulseSnapshot, SalesAlert, SourceStatus, Trigger
from bot.rules.health import stale_since
from bot.rules.pulse import change_pct
from bot.rules.sales import spec_for
from bot.rules.sales_days import BASELINE_DAYS, hours, money

LISTED = 10  # unfulfilled orders, top sellers and alerts the tile lists
SOURCES = {"shopify": "Shopify", "chatwoot": "Chatwoot"}
FRESH, STALE, UNREAD = ":large_green_circle:", ":red_circle:", ":white_circle:"
OFF = (
    "Sales Pulse is off: set `SHOPIFY_SHOP` (the shop's domain, `store.myshopify.com`) and "
    "`SHOPIFY_ADMIN_TOKEN` (an Admin API token with `read_orders`, `read_all_orders`, "
    "`read_products` and `read_inventory`), then restart occ-bot."
)
NO_READING = (
    ":hourglass_flowing_sand: Sales Pulse has not read the shop yet: a first read is under "
    "way, and the numbers follow here when it is done."
)
Linked = tuple[SalesAlert, str | None]  # an open alert and the link to its message


def age(elapsed: timedelta) -> str:
    """How long ago, or how old: "45 s", "12 min", "5 h", "3.5 days"."""
    minutes = max(elapsed.total_seconds(), 0) / 60
    return t.format_minutes(minutes) if minutes < 60 else hours(elapsed)


def change(now: float, usual: float) -> str | None:
    """Today against the usual: "-50%", "+25%"; None when there is no usual."""
    pct = change_pct(now, usual)
    if pct is None:
        return None
    return "±0%" if round(pct) == 0 else f"{round(pct):+d}%"


NO_USUAL = f"nothing in the same hours of the last {BASELINE_DAYS} days to compare with"


def tile_text(
    snapshot: PulseSnapshot,
    now: datetime,
    *,
    alerts: Sequence[Linked],
    sources: Sequence[str],
    note: str = "",
) -> str:
    """The whole tile: ``sources`` are `freshness` lines; ``note`` goes first (the reading's
    age when it is older than its period, say)."""
    local = snapshot.taken_at.astimezone(ZoneInfo(snapshot.timezone))
    lines = [note] if note else []
    lines += [
        f"*Sales Pulse* · read {age(now - snapshot.taken_at)} ago "
        f"({t.slack_date(snapshot.taken_at)}) · the shop's day so far "
        f"({t.inline(snapshot.timezone, 60)}, midnight to {local:%H:%M})",
        _today(snapshot),
        *_unfulfilled(snapshot, now),
        *_top_sellers(snapshot, alerts),
        *_alerts(alerts),
        "*Data:* " + " · ".join(sources) if sources else "",
    ]
    return "\n".join(line for line in lines if line)


def glance_text(snapshot: PulseSnapshot | None, now: datetime, *, open_alerts: int) -> str:
    """The Home tab's Sales Pulse: a few numbers, and where the rest is."""
    if snapshot is None:
        return "*Sales Pulse*\nNo reading of the shop yet: `/occ pulse` starts one."
    oldest = snapshot.unfulfilled[0] if snapshot.unfulfilled else None
    total = snapshot.unfulfilled_total
    waiting = f"*{total}* paid order{_s(total)} unfulfilled"
    if oldest is not None:
        waiting += f", the oldest {age(now - oldest.created_at)} old"
    alerts = f"*{open_alerts}* alert{_s(open_alerts)} open" if open_alerts else "no alert open"
    revenue = change(snapshot.revenue, snapshot.usual_revenue)
    orders = change(snapshot.orders, snapshot.usual_orders)
    return "\n".join(
        [
            f"*Sales Pulse* (read {age(now - snapshot.taken_at)} ago; all of it: `/occ pulse`)",
            f"Revenue *{money(snapshot.revenue, snapshot.currency)}*"
            + (f" ({revenue} against the usual by this hour)" if revenue else "")
            + f" · *{snapshot.orders}* orders"
            + (f" ({orders})" if orders else ""),
            f"{waiting} · {alerts}",
        ]
    )


def freshness(name: str, status: SourceStatus | None, now: datetime, stale_minutes: float) -> str:
    """One data source: when it was last read, red once that is more than ``stale_minutes``
    ago (`OCC_DATA_STALE_MINUTES`), and its last error when it is newer than its last read."""
    label = SOURCES.get(name, name)
    if status is None:
        return f"{UNREAD} {label} not read yet"
    stale = stale_since(status, now, stale_minutes) is not None
    mark = STALE if stale else FRESH
    if status.last_ok_at is None:
        said = f"{mark} *{label} never read* (tried for {age(now - status.first_tried_at)})"
    else:
        said = f"{label} read {age(now - status.last_ok_at)} ago"
        said = f"{mark} *{said}*, stale past {stale_minutes:g} min" if stale else f"{mark} {said}"
    failed = status.last_error_at
    if failed is not None and (status.last_ok_at is None or failed > status.last_ok_at):
        error = t.inline(status.last_error or "", 120)
        said += f" (last try failed {age(now - failed)} ago: {error})"
    return said


def _today(snapshot: PulseSnapshot) -> str:
    """Revenue and orders so far against the same hours of the past days, as percentages."""
    revenue = change(snapshot.revenue, snapshot.usual_revenue)
    orders = change(snapshot.orders, snapshot.usual_orders)
    now = money(snapshot.revenue, snapshot.currency)
    if revenue is None or orders is None:
        return f"• Revenue *{now}*, orders *{snapshot.orders}*: {NO_USUAL}"
    return (
        f"• Revenue *{now}*: *{revenue}* against the same hours of the last {BASELINE_DAYS} "
        f"days (average {money(snapshot.usual_revenue, snapshot.currency)})\n"
        f"• Orders *{snapshot.orders}*: *{orders}* (average {_count(snapshot.usual_orders)})"
    )


def _unfulfilled(snapshot: PulseSnapshot, now: datetime) -> list[str]:
    total = snapshot.unfulfilled_total
    if not total:
        return ["*Paid, not yet fulfilled:* none :white_check_mark:"]
    lines = [f"*Paid, not yet fulfilled: {total}*, oldest first"]
    for order in snapshot.unfulfilled[:LISTED]:
        partly = ", partly fulfilled" if order.partly else ""
        lines.append(
            f"• {t.link(order.url, order.name, 40)} {money(order.total, snapshot.currency)}, "
            f"{age(now - order.created_at)} old{partly}"
        )
    more = total - min(len(snapshot.unfulfilled), LISTED)
    if more > 0:
        lines.append(f"…and {more} more.")
    return lines


def _top_sellers(snapshot: PulseSnapshot, alerts: Sequence[Linked]) -> list[str]:
    if not snapshot.top_skus:
        return [f"*Top sellers:* none sold in the last {BASELINE_DAYS} days"]
    low = {alert.condition: link for alert, link in alerts}
    lines = [f"*Top sellers* (units sold in the last {BASELINE_DAYS} days, stock, days of cover)"]
    for sku in snapshot.top_skus[:LISTED]:
        line = f"• {t.link(sku.url, sku.title, 80)} `{t.inline(sku.sku, 60)}`: {_stock(sku)}"
        condition = f"{Trigger.LOW_STOCK.value}:{sku.sku}"
        if condition in low:
            line += " :warning: " + t.link(low[condition], "low-stock alert open")
        lines.append(line)
    return lines


def _stock(sku: PulseSku) -> str:
    sold = f"{sku.sold} sold ({_count(round(sku.per_day, 1))} a day)"
    cover = sku.days_of_cover
    if cover is None:
        return f"{sold}, stock unknown (Shopify has no variant with this SKU)"
    if cover == float("inf"):
        return f"{sold}, {sku.available} in stock"
    return f"{sold}, {sku.available} in stock, {cover:.1f} days of cover"


def _alerts(alerts: Sequence[Linked]) -> list[str]:
    if not alerts:
        return ["*Open Sales Pulse alerts:* none :white_check_mark:"]
    lines = [f"*Open Sales Pulse alerts: {len(alerts)}*"]
    for alert, link in alerts[:LISTED]:
        finding = alert.finding
        title = (
            t.link(link, spec_for(finding.trigger).title)
            if link
            else spec_for(finding.trigger).title
        )
        lines.append(
            f"• {title}: {t.inline(finding.metric, 120)}, since {t.slack_date(alert.opened_at)}"
        )
    more = len(alerts) - LISTED
    if more > 0:
        lines.append(f"…and {more} more.")
    return lines


def _count(value: float) -> str:
    return f"{value:,.1f}".removesuffix(".0")


def _s(count: int) -> str:
    return "" if count == 1 else "s"
