"""Sales Pulse alert messages: the metric against its baseline and threshold, a trend, what is
affected (with Shopify Admin links), the trigger's response button and Acknowledge; and the
clearing note posted in the alert's thread."""

from __future__ import annotations

from typing import Any

from bot.blocks import kit
from bot.blocks import text as t
from bot.domain import Finding, SalesAlert, SalesResponse
from bot.rules.sales import done_text, spec_for

Block = dict[str, Any]
LISTED = 10
SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: tuple[float, ...]) -> str:
    if not values:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return "".join(SPARKS[round((v - low) / span * (len(SPARKS) - 1))] for v in values)


def amount(finding: Finding, value: float) -> str:
    if finding.unit == "money":
        return t.money(value) if finding.currency == "USD" else f"{value:,.2f} {finding.currency}"
    return f"{value:,.1f}".removesuffix(".0") + f" {finding.unit}"


def alert_text(alert: SalesAlert, previous: Finding | None = None) -> str:
    finding = alert.finding
    text = f"{spec_for(finding.trigger).title}: {finding.metric} {amount(finding, finding.value)}"
    if previous is not None:
        text += " (worse)"
    return t.inline(text, 300)


def alert_blocks(alert: SalesAlert, previous: Finding | None = None) -> list[Block]:
    finding = alert.finding
    spec = spec_for(finding.trigger)
    blocks: list[Block] = [kit.header(spec.title)]
    headline = f"{spec.emoji} *{t.inline(finding.metric, 150)}*"
    if previous is not None:
        headline += (
            f"\n:arrow_double_down: *Markedly worse* than when first alerted "
            f"({amount(previous, previous.value)})."
        )
    blocks.append(kit.section(headline))
    facts = [f"*Now*\n{amount(finding, finding.value)}"]
    if finding.baseline is not None:
        facts.append(f"*Baseline*\n{amount(finding, finding.baseline)}")
    facts.append(f"*Threshold*\n{t.inline(finding.threshold, 200)}")
    if finding.trend:
        facts.append(f"*Trend*\n`{sparkline(finding.trend)}`")
    blocks.append(kit.fields(facts))
    if finding.trend_label:
        blocks.append(kit.context(f"Trend: {t.inline(finding.trend_label, 200)}."))
    if finding.affected:
        lines = [
            f"• {t.link(a.url, a.label, 80) if a.url else t.inline(a.label, 80)}: "
            f"{t.inline(a.detail, 200)}"
            for a in finding.affected[:LISTED]
        ]
        more = max(finding.affected_total, len(finding.affected)) - LISTED
        if more > 0:
            lines.append(f"…and {more} more.")
        blocks.append(kit.section("\n".join(lines)))
    done = [_done(r) for r in alert.responses]
    if done:
        blocks.append(kit.context(*done[:10]))
    if alert.cleared_at is not None:
        blocks.append(kit.context(f":white_check_mark: Cleared {t.slack_date(alert.cleared_at)}."))
    elif alert.superseded_by is not None:
        blocks.append(kit.context(":arrow_double_down: Superseded by a newer alert (worse)."))
    else:
        buttons = _buttons(alert)
        if buttons:
            blocks.append(kit.actions(*buttons))
    blocks.append(
        kit.context(f"Sales Pulse · alert `{alert.id}` · {t.slack_date(alert.opened_at)}")
    )
    return blocks


def clear_text(alert: SalesAlert) -> str:
    return t.inline(
        f":white_check_mark: Cleared: {alert.finding.metric} is back within its threshold "
        f"({alert.finding.threshold}).",
        500,
    )


def clear_blocks(alert: SalesAlert) -> list[Block]:
    return [kit.section(clear_text(alert))]


def _buttons(alert: SalesAlert) -> list[dict[str, Any]]:
    """The trigger's buttons, but those whose response is recorded already."""
    return [
        kit.button(b.label, b.action_id, alert.id, style="primary" if b.primary else None)
        for b in spec_for(alert.finding.trigger).buttons
        if b.response is None or alert.response(b.response) is None
    ]


def _done(response: SalesResponse) -> str:
    what = done_text(response.kind)
    return f"{what} by {t.mention(response.actor)} {t.slack_date(response.at)}"
