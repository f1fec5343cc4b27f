"""Sales Pulse's decision triggers, one `TriggerSpec` each in `TRIGGERS`: the job, the alert
message, the buttons' handlers and an alert's life loop over them.

The source documents' triggers (Sales Pulse module):

- revenue drop: revenue so far today more than 15 % below the average of the same hours on
  each of the previous 7 days ("create follow-up");
- order spike: orders so far today more than 25 % above that baseline ("notify fulfillment
  lead");
- fulfillment delay: a paid order unfulfilled for more than 24 h ("page fulfillment manager");
- low stock: a top-selling SKU below its reorder point or its days of cover ("reorder
  discussion").

And one of ours, a fifth:

- refund spike: money refunded so far today more than 50 % above the same hours of the
  previous 7 days, each refund on the day it was made ("create follow-up").

A trigger is, in this module, its threshold (a field of `SalesThresholds`, named by its
setting), its evaluator and its spec (title, buttons, when markedly worse, when cleared); its
stored name is a `bot.domain.Trigger`, and what it reads comes from
`bot.integrations.shopify_reads`. `tests/sales_pulse/test_sales_specs.py` fails when a spec is
incomplete.

"Today" is the shop's day, in the shop's time zone (`bot.rules.sales_days`). A shop whose
baseline is below `SalesThresholds.min_baseline_orders` is too quiet to judge: its revenue
and order triggers hold (neither alert nor clear), so a quiet night is not "down 100 %".

Each evaluation says whether a condition is crossed (a `Finding`), clear, or in between
(`HOLD`: crossed no longer, but not back by its spec's margin), so an alert neither flaps on
the threshold nor clears on a wobble.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.domain import Action, Affected, Finding, SalesResponseKind, ShopOrder, SkuStock, Trigger
from bot.rules.sales_buttons import ACKNOWLEDGE, Button, Effect, Who
from bot.rules.sales_days import (
    BASELINE_DAYS,
    SAME_HOURS,
    Day,
    SameHours,
    Shop,
    hours,
    money,
    same_hours,
)
from bot.rules.sales_window import KEPT, PAID, UNFULFILLED, SalesWindow, fold

# Back within this fraction of the threshold (a 15 % drop clears below 12 %) clears the alert.
CLEAR_FRACTION = 0.8
WORST = 100.0  # a severity of 100: no revenue at all, a SKU out of stock
LISTED = KEPT  # affected orders or SKUs listed in an alert


class SalesThresholds(BaseModel):
    """Each threshold once: its default, its bounds and the setting that changes it.
    `bot.config.Settings` reads them from the environment with the other settings."""

    model_config = ConfigDict(populate_by_name=True)

    revenue_drop_pct: float = Field(15.0, alias="OCC_SALES_REVENUE_DROP_PCT", gt=0, le=100)
    order_spike_pct: float = Field(25.0, alias="OCC_SALES_ORDER_SPIKE_PCT", gt=0)
    fulfillment_hours: float = Field(24.0, alias="OCC_SALES_FULFILLMENT_HOURS", gt=0)
    # Orders in the same hours, averaged over the past days: a quieter shop is not judged.
    min_baseline_orders: float = Field(10.0, alias="OCC_SALES_MIN_BASELINE_ORDERS", ge=1)
    days_of_cover: float = Field(7.0, alias="OCC_SALES_DAYS_OF_COVER", gt=0)
    top_skus: int = Field(10, alias="OCC_SALES_TOP_SKUS", ge=1, le=250)
    # Refunds are fewer than orders, so a day's vary more: twice the order spike's margin.
    refund_spike_pct: float = Field(50.0, alias="OCC_SALES_REFUND_SPIKE_PCT", gt=0)


class Status(StrEnum):
    CROSSED = "crossed"
    CLEAR = "clear"
    HOLD = "hold"


@dataclass(frozen=True)
class Evaluation:
    condition: str
    status: Status
    finding: Finding | None = None  # when crossed


@dataclass(frozen=True)
class SalesRead:
    """What one run read from the shop, and the thresholds it is judged by."""

    now: datetime
    shop: Shop
    rules: SalesThresholds
    window: SalesWindow  # the orders created or updated since `window_start`, folded
    delayed: Sequence[ShopOrder] = ()  # the oldest paid orders unfulfilled past the threshold
    delayed_total: int | None = None  # how many there are in all, when more than `delayed`
    stocks: Sequence[SkuStock] = ()  # the top sellers' and those with a low-stock alert
    top: Sequence[str] = ()  # the top sellers' SKUs, best first

    @classmethod
    def of_orders(
        cls,
        now: datetime,
        shop: Shop,
        rules: SalesThresholds,
        orders: Iterable[ShopOrder] = (),
        **read: Any,
    ) -> SalesRead:
        """What a run that read ``orders`` (and ``read``: delayed orders, stocks...) saw."""
        window = fold(orders, now, shop.timezone, delay_cutoff(now, rules))
        return cls(now, shop, rules, window, **read)

    @property
    def days(self) -> list[Day]:
        """The past `BASELINE_DAYS` days and today, oldest first."""
        return self.window.days[::-1]


Evaluator = Callable[["TriggerSpec", SalesRead], list[Evaluation]]


@dataclass(frozen=True)
class TriggerSpec:
    """One trigger, all of it but its threshold and its read."""

    trigger: Trigger
    title: str  # the alert's header
    emoji: str  # before the alert's metric
    evaluator: Evaluator  # its conditions: crossed, clear or holding
    worse: float  # alerted again once this many times as severe as when it was alerted
    clear: float | None  # back within this fraction of its threshold clears the alert;
    # None: it clears as soon as it is no longer crossed (a count of late orders cannot wobble)
    responses: tuple[Button, ...]  # its own buttons, the first the alert's main action

    @property
    def buttons(self) -> tuple[Button, ...]:
        """The buttons of its alerts: its responses, then Acknowledge."""
        return (*self.responses, ACKNOWLEDGE)

    def evaluate(self, read: SalesRead) -> list[Evaluation]:
        return self.evaluator(self, read)


# -- revenue drop and order spike: today so far against the same hours of past days -----------


def _revenue_drop(spec: TriggerSpec, read: SalesRead) -> list[Evaluation]:
    same, rules = same_hours(read.days), read.rules
    if not same.judged(rules.min_baseline_orders):
        return [Evaluation(spec.trigger.value, Status.HOLD)]
    drop = (same.base_revenue - same.revenue[-1]) / same.base_revenue * 100
    finding = Finding(
        trigger=spec.trigger,
        condition=spec.trigger.value,
        metric="Revenue today so far",
        value=same.revenue[-1],
        baseline=round(same.base_revenue, 2),
        threshold=(f"more than {rules.revenue_drop_pct:g}% below the {BASELINE_DAYS}-day average"),
        severity=round(min(drop, WORST), 1),
        unit="money",
        trend=tuple(same.revenue),
        trend_label=SAME_HOURS,
        affected=_sku_changes(read.shop, same, falling=True),
        currency=read.shop.currency,
    )
    return [_judge(spec, finding, drop, rules.revenue_drop_pct)]


def _order_spike(spec: TriggerSpec, read: SalesRead) -> list[Evaluation]:
    same, rules = same_hours(read.days), read.rules
    if not same.judged(rules.min_baseline_orders):
        return [Evaluation(spec.trigger.value, Status.HOLD)]
    spike = (same.orders[-1] - same.base_orders) / same.base_orders * 100
    finding = Finding(
        trigger=spec.trigger,
        condition=spec.trigger.value,
        metric="Orders today so far",
        value=same.orders[-1],
        baseline=round(same.base_orders, 1),
        threshold=f"more than {rules.order_spike_pct:g}% above the {BASELINE_DAYS}-day average",
        severity=round(spike, 1),
        unit="orders",
        trend=tuple(same.orders),
        trend_label=SAME_HOURS,
        affected=_sku_changes(read.shop, same, falling=False),
        currency=read.shop.currency,
    )
    return [_judge(spec, finding, spike, rules.order_spike_pct)]


def _sku_changes(shop: Shop, same: SameHours, *, falling: bool) -> tuple[Affected, ...]:
    """The SKUs whose units moved most against their same-hours average, in that direction."""
    today, past = same.today_units, same.past_units
    changes = []
    for sku in set(today) | set(past):
        usual = past[sku] / BASELINE_DAYS
        change = today[sku] - usual
        if (change < 0) if falling else (change > 0):
            changes.append((abs(change), sku, today[sku], usual))
    changes.sort(key=lambda c: (-c[0], c[1]))
    return tuple(
        Affected(sku, f"{now} sold today so far, {usual:.1f} usual by this hour", shop.sku_url(sku))
        for _, sku, now, usual in changes[:LISTED]
    )


# -- refund spike: money refunded today so far against the same hours of past days -----------


def _refund_spike(spec: TriggerSpec, read: SalesRead) -> list[Evaluation]:
    """Each refund counts on its own day (an older order refunded today counts today), as
    money: what a spike costs. The usual is at least one average order, so that a shop which
    seldom refunds is not alerted for its first refund of the day (nor measured against a
    baseline of nothing)."""
    same, rules, shop = same_hours(read.days), read.rules, read.shop
    if not same.judged(rules.min_baseline_orders):
        return [Evaluation(spec.trigger.value, Status.HOLD)]
    refunded, today = _refunds_by_day(read), read.window.refunded_today
    usual = sum(refunded[:-1]) / BASELINE_DAYS
    one_order = same.base_revenue / same.base_orders
    baseline = max(usual, one_order)
    spike = (refunded[-1] - baseline) / baseline * 100
    threshold = f"more than {rules.refund_spike_pct:g}% above the {BASELINE_DAYS}-day average"
    if usual < one_order:
        threshold = (
            f"more than {rules.refund_spike_pct:g}% above one average order "
            f"({money(one_order, shop.currency)}), as the {BASELINE_DAYS}-day average is less"
        )
    finding = Finding(
        trigger=spec.trigger,
        condition=spec.trigger.value,
        metric="Refunds today so far",
        value=refunded[-1],
        baseline=round(baseline, 2),
        threshold=threshold,
        severity=round(spike, 1),
        unit="money",
        trend=tuple(refunded),
        trend_label=SAME_HOURS,
        affected=tuple(_refunded(shop, order, amount) for _, order, amount in today.kept),
        affected_total=today.total,
        currency=shop.currency,
    )
    return [_judge(spec, finding, spike, rules.refund_spike_pct)]


def _refunds_by_day(read: SalesRead) -> list[float]:
    """Money refunded in the same hours of each past day and today (oldest first), each
    refund by its own time in the shop's time zone."""
    return [round(amount, 2) for amount in read.window.refunded[::-1]]


def _refunded(shop: Shop, order: ShopOrder, amount: float) -> Affected:
    placed = order.created_at.astimezone(shop.timezone)
    return Affected(
        label=order.name,
        detail=f"{money(amount, shop.currency)} refunded today, of an order of "
        f"{money(order.total, shop.currency)} placed {placed:%-d %b}"
        + (f", {order.email}" if order.email else ""),
        url=shop.order_url(order.id),
        email=order.email,
    )


# -- fulfillment delay: paid orders unfulfilled past the threshold ---------------------------------


def delay_cutoff(now: datetime, rules: SalesThresholds) -> datetime:
    return now - timedelta(hours=rules.fulfillment_hours)


def _fulfillment_delay(spec: TriggerSpec, read: SalesRead) -> list[Evaluation]:
    """``read.delayed`` lists the oldest late orders as read; ``read.delayed_total`` counts
    them all when there were more than could be read."""
    cutoff, shop, now = delay_cutoff(read.now, read.rules), read.shop, read.now
    late = sorted(
        (o for o in read.delayed if _is_delayed(o, cutoff)), key=lambda o: (o.created_at, o.id)
    )
    total = read.delayed_total
    count = len(late) if total is None else max(total, len(late))
    condition = spec.trigger.value
    if count == 0:
        return [Evaluation(condition, Status.CLEAR)]
    affected = tuple(
        Affected(
            label=o.name,
            detail=f"{money(o.total, shop.currency)}, paid, unfulfilled for "
            f"{hours(now - o.created_at)}" + (f", {o.email}" if o.email else ""),
            url=shop.order_url(o.id),
            email=o.email,
        )
        for o in late
    )
    finding = Finding(
        trigger=spec.trigger,
        condition=condition,
        metric="Paid orders unfulfilled",
        value=float(count),
        baseline=None,
        threshold=f"paid and unfulfilled for more than {read.rules.fulfillment_hours:g} h",
        severity=float(count),
        unit="orders",
        affected=affected,
        affected_total=count,
        currency=shop.currency,
    )
    return [Evaluation(condition, Status.CROSSED, finding)]


def _is_delayed(order: ShopOrder, cutoff: datetime) -> bool:
    return (
        not order.cancelled
        and order.financial in PAID
        and order.fulfillment in UNFULFILLED
        and order.created_at < cutoff
    )


# -- low stock: a top seller below its reorder point or its days of cover ---------------------


def _low_stock(spec: TriggerSpec, read: SalesRead) -> list[Evaluation]:
    """Each SKU below its reorder point or its days of cover (at the past days' sales rate)."""
    assert spec.clear is not None
    rules, shop, days = read.rules, read.shop, BASELINE_DAYS
    sold = Counter(read.window.sold_in_week)  # a SKU not sold reads 0
    evaluations = []
    for stock in read.stocks:
        per_day = sold[stock.sku] / days
        cover = stock.available / per_day if per_day > 0 else math.inf
        below_point = stock.reorder_point is not None and stock.available <= stock.reorder_point
        condition = f"{spec.trigger.value}:{stock.sku}"
        if not below_point and cover >= rules.days_of_cover:
            settled = cover >= rules.days_of_cover / spec.clear and not below_point
            evaluations.append(Evaluation(condition, Status.CLEAR if settled else Status.HOLD))
            continue
        shortfall = 100 * (1 - cover / rules.days_of_cover) if per_day > 0 else 0.0
        severity = WORST if stock.available <= 0 else max(1.0, min(shortfall, WORST - 1))
        cover_text = "no sales lately" if per_day == 0 else f"{cover:.1f} days of cover"
        detail = f"{stock.available} available, {sold[stock.sku]} sold in {days} days, {cover_text}"
        if stock.reorder_point is not None:
            detail += f", reorder point {stock.reorder_point}"
        finding = Finding(
            trigger=spec.trigger,
            condition=condition,
            metric=f"Stock of {stock.sku} ({stock.title})",
            value=float(stock.available),
            baseline=round(per_day * rules.days_of_cover, 1),
            threshold=f"below {rules.days_of_cover:g} days of cover"
            + (f" or its reorder point ({stock.reorder_point})" if below_point else ""),
            severity=round(severity, 1),
            unit="units",
            trend=tuple(float(day.all_units.get(stock.sku, 0)) for day in read.days),
            trend_label=f"units sold on each of the past {days} days, then today",
            affected=(Affected(stock.sku, detail, shop.variant_url(stock)),),
            affected_total=1,
            currency=shop.currency,
        )
        evaluations.append(Evaluation(condition, Status.CROSSED, finding))
    return evaluations


def _judge(spec: TriggerSpec, finding: Finding, how_far: float, threshold: float) -> Evaluation:
    assert spec.clear is not None
    if how_far > threshold:
        return Evaluation(finding.condition, Status.CROSSED, finding)
    if how_far < threshold * spec.clear:
        return Evaluation(finding.condition, Status.CLEAR)
    return Evaluation(finding.condition, Status.HOLD)


# -- the buttons and the specs --------------------------------------------------------------------

CREATE_FOLLOWUP = Button(
    label="Create follow-up",
    action_id="sales_followup",
    log=Action.SALES_FOLLOWUP,
    who=Who.ANYONE,
    effect=Effect.FOLLOWUP_FORM,
)
NOTIFY_LEAD = Button(
    label="Notify fulfillment lead",
    action_id="sales_notify_lead",
    log=Action.SALES_LEAD_NOTIFIED,
    who=Who.ANYONE,
    effect=Effect.NOTIFY_LEAD,
    response=SalesResponseKind.LEAD_NOTIFIED,
    done="Fulfillment lead notified",
)
PAGE_MANAGER = Button(
    label="Page fulfillment manager",
    action_id="sales_page_manager",
    log=Action.SALES_MANAGER_PAGED,
    who=Who.ANYONE,
    effect=Effect.PAGE_MANAGER,
    response=SalesResponseKind.MANAGER_PAGED,
    done="Fulfillment manager paged",
)
START_REORDER = Button(
    label="Start reorder discussion",
    action_id="sales_reorder",
    log=Action.SALES_REORDER_STARTED,
    who=Who.ANYONE,
    effect=Effect.REORDER_THREAD,
    response=SalesResponseKind.REORDER_STARTED,
    done="Reorder discussion started",
)

TRIGGERS: tuple[TriggerSpec, ...] = (
    TriggerSpec(
        Trigger.REVENUE_DROP,
        title="Revenue drop",
        emoji=":chart_with_downwards_trend:",
        evaluator=_revenue_drop,
        worse=1.5,
        clear=CLEAR_FRACTION,
        responses=(CREATE_FOLLOWUP,),
    ),
    TriggerSpec(
        Trigger.ORDER_SPIKE,
        title="Order spike",
        emoji=":chart_with_upwards_trend:",
        evaluator=_order_spike,
        worse=1.5,
        clear=CLEAR_FRACTION,
        responses=(NOTIFY_LEAD,),
    ),
    TriggerSpec(
        Trigger.FULFILLMENT_DELAY,
        title="Fulfillment delay",
        emoji=":package:",
        evaluator=_fulfillment_delay,
        worse=2.0,
        clear=None,
        responses=(PAGE_MANAGER,),
    ),
    TriggerSpec(
        Trigger.LOW_STOCK,
        title="Low stock",
        emoji=":warning:",
        evaluator=_low_stock,
        worse=1.5,
        clear=CLEAR_FRACTION,
        responses=(START_REORDER,),
    ),
    TriggerSpec(
        Trigger.REFUND_SPIKE,
        title="Refund spike",
        emoji=":money_with_wings:",
        evaluator=_refund_spike,
        worse=1.5,
        clear=CLEAR_FRACTION,
        # Why refunds jumped (a bad batch, a carrier, a listing) takes someone days to find.
        responses=(CREATE_FOLLOWUP,),
    ),
)
_SPECS = {spec.trigger: spec for spec in TRIGGERS}


def spec_for(trigger: Trigger) -> TriggerSpec:
    return _SPECS[trigger]


def buttons() -> tuple[Button, ...]:
    """Every button an alert can carry, each once."""
    return tuple(dict.fromkeys(button for spec in TRIGGERS for button in spec.buttons))


def done_text(kind: str) -> str:
    """How a recorded response reads on its alert: "Fulfillment manager paged"."""
    return next((b.done for b in buttons() if b.response == kind), kind)


def markedly_worse(alerted: Finding, now: Finding) -> bool:
    """Worth a new alert although the condition is already alerted."""
    if now.severity >= WORST > alerted.severity:
        return True
    return now.severity >= alerted.severity * spec_for(alerted.trigger).worse
